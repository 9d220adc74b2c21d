"""Debian's chromium, headless, driven over the Chrome DevTools Protocol (CDP:
chromedevtools.github.io/devtools-protocol) with ``websocket-client``: navigate,
evaluate JavaScript, take a screenshot. Absent, the calling test is skipped saying so,
and fails under ``CI=true`` (``./dev test`` installs it)."""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket

from tests.support.shared import absent

__all__ = ["Browser"]


class Browser:
    """One headless chromium with its own profile in ``workdir``; ``close`` ends it."""

    def __init__(self, workdir: Path, width: int = 1400, height: int = 900) -> None:
        binary = shutil.which("chromium")
        if binary is None:
            absent("chromium is missing (apt-get install chromium)", "./dev test installs it")
        self.process = subprocess.Popen(
            [
                binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-port=0",
                f"--user-data-dir={workdir / 'profile'}", f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self._ids = itertools.count(1)
        self._socket = websocket.create_connection(self._page_socket(), timeout=60)

    def _page_socket(self) -> str:
        """The page target's DevTools socket, from the port chromium says it listens on."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline:
            line = self.process.stderr.readline()
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            port = found.group(1) if found else None
            assert line or self.process.poll() is None, "chromium ended before it listened"
        assert port is not None, "chromium did not say where DevTools listens"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        socket: str = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        return socket

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; its result (events that come before it are skipped)."""
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (promises awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, seconds: float = 60) -> Any:
        """``expression``'s value once it is truthy; fails after ``seconds`` saying ``what``."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"the page never showed {what}"
            time.sleep(0.05)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self.process.kill()
            self.process.wait(10)


def until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
