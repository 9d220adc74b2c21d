"""The boot service on a real server (uvicorn, httptools, the guard) on 127.0.0.1, for the
tests of its limits: a fixture that starts it with given limits, and raw-socket helpers."""

from __future__ import annotations

import logging
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.boot.limits import Limits
from strata.boot.server import boot_server
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.boot_server import free_port

ROOT = Path(__file__).resolve().parents[3]
FAST = Limits(head_timeout=1.0, keep_alive_timeout=1, body_timeout=1.0)
PATIENCE = 30.0  # seconds a test waits for something that must happen (never a margin)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.exc_info or r.levelno >= logging.ERROR]


@dataclass
class Running:
    base: str
    port: int
    store: SQLiteStore
    log: Records
    stop: Callable[[], None]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Limits], Running]]:
    """Start the boot service for the lab topology (lab-cp-0 being provisioned) on a free
    port with the given limits; stopped, and its windows drained, after the test."""
    stops: list[Callable[[], None]] = []

    def start(limits: Limits) -> Running:
        store = SQLiteStore(tmp_path / f"strata{len(stops)}.db")
        store.begin_attempt("lab-cp-0", lifetime=3600)
        port = free_port()
        plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
        content = BootContent(plan, f"http://127.0.0.1:{port}", TokenSigner(store.token_key()))
        service = BootService(content, store, AssetIndex(tmp_path / "mirror"), limits=limits)
        server, _ = boot_server(service.app, "127.0.0.1", port, limits)
        log = Records()
        for name in ("uvicorn", "uvicorn.error", "strata.boot"):
            logging.getLogger(name).addHandler(log)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + PATIENCE
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

        def stop() -> None:  # again is harmless
            server.should_exit = True
            thread.join(PATIENCE)
            for name in ("uvicorn", "uvicorn.error", "strata.boot"):
                logging.getLogger(name).removeHandler(log)

        stops.append(stop)
        return Running(f"http://127.0.0.1:{port}", port, store, log, stop)

    yield start
    for stop in stops:
        stop()


def events_url(base: str) -> str:
    """lab-cp-0's phone-home URL without ``&event=``, from its live config."""
    script = httpx.get(f"{base}/ipxe", params={"mac": "52:54:00:10:00:01"}).text
    live = re.search(r"ignition\.config\.url=(\S+)", script)
    assert live is not None
    found = re.search(r'(http[^"&\\]+/events/lab-cp-0\?token=[^"&\\]+)', httpx.get(live[1]).text)
    assert found is not None
    return found[1]


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), PATIENCE, (source, 0))


def answered(socks: list[socket.socket], expected: int) -> list[socket.socket]:
    """The sockets the server has closed (or answered), once ``expected`` are, or after
    PATIENCE; the head timeout is longer than that in the tests that use it."""
    deadline = time.monotonic() + PATIENCE
    while True:
        ready, _, _ = select.select(socks, [], [], 0.1)
        if len(ready) >= expected or time.monotonic() > deadline:
            return ready


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received
