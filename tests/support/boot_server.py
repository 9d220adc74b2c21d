"""A boot service on a real uvicorn server on 127.0.0.1, with a record of the paths it served."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from strata.boot.server import boot_server
from strata.lab.ports import free_port as free_port

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class PathLog:
    """ASGI middleware: remembers every path asked for (the test's eyes, not part of Strata)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


class RunningServer:
    def __init__(self, app: ASGIApp, port: int, *, guarded: bool = False) -> None:
        """``guarded``: the server Strata runs the boot service in (``boot_server``: its
        connection limits and its response heads), not plain uvicorn."""
        self.log = PathLog(app)
        self.port = port
        if guarded:
            self.server, _ = boot_server(self.log, "127.0.0.1", port)
        else:
            self.server = uvicorn.Server(
                uvicorn.Config(self.log, host="127.0.0.1", port=port, log_level="warning")
            )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
