"""The seed's status over HTTP: what `strata status` says of the seed's run, served on its
provisioning address while `strata seed start` runs `strata apply` (and after, until the
seed is stopped, so that its outcome can be read).

A small Starlette app of its own, on its own port (``PORT``), served by the boot
service's guarded uvicorn (``strata.boot.server``) on a thread of `strata seed start` —
not a route of the boot service: it reads the state file as `strata status` does (every
node's row and the recent events, a query that grows with the topology) and so stays
off the event loop machines boot from; and it answers before `strata apply` has started
and after it has ended, when no boot service runs.

Routes, read-only (GET/HEAD):

- ``/status.json``: ``{"seed": {...}, "status": <strata status -o json> | null}``: the
  seed's topology and phase (``starting``, ``apply running``, ``apply exited N``) and
  `strata status`'s JSON once the run has a state file;
- ``/status`` (and ``/``): the same as `strata status` prints it, as plain text.

It serves what the store holds: node names, states, steps, reasons and event details —
never a secret (the store holds none; the run directory's secret files are not read).
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from strata.errors import StrataError

if TYPE_CHECKING:
    from strata.seed.payload import Manifest
    from strata.seed.start import RunDirectory

__all__ = ["PORT", "SeedPhase", "StatusServer", "hold_until_stopped", "serve_status", "status_app"]

PORT = 8090  # the boot service has 8080
TEXT_WIDTH = 110  # columns of the text answer (a terminal's, roughly; nothing wraps a URL)


class StatusStartFailed(StrataError):
    """The status server could not listen where it was asked to."""

    kind = "seed-status"


@dataclass
class SeedPhase:
    """What the seed is doing, as the status answers say it: its topology's name and
    SHA-256, the phase, and `strata apply`'s exit code once it ended."""

    topology: str
    topology_sha256: str
    phase: str = "starting"
    exit_code: int | None = None
    since: float = field(default_factory=time.time)  # seconds since the epoch

    def running(self) -> None:
        self.phase, self.since = "apply running", time.time()

    def ended(self, code: int) -> None:
        self.phase, self.exit_code, self.since = f"apply exited {code}", code, time.time()

    def as_json(self) -> dict[str, Any]:
        return {
            "topology": self.topology,
            "topology_sha256": self.topology_sha256,
            "phase": self.phase,
            "apply_exit_code": self.exit_code,
            "since": self.since,
        }


def status_app(phase: SeedPhase, topology: Path, state: Path) -> Starlette:
    """The read-only app: ``phase`` as it changes, `strata status` of the store at
    ``state`` (none until `strata apply` made it), the layers of ``topology``."""

    async def as_json(request: Request) -> Response:
        try:
            read = await asyncio.to_thread(_status_json, topology, state)
        except (StrataError, sqlite3.DatabaseError) as exc:
            error = _unreadable(exc, state)
            return JSONResponse({"seed": phase.as_json(), "status": None, "error": error}, 503)
        return JSONResponse({"seed": phase.as_json(), "status": read})

    async def as_text(request: Request) -> Response:
        head = f"strata seed: topology {phase.topology}, {phase.phase}\n\n"
        try:
            text = await asyncio.to_thread(_status_text, topology, state)
        except (StrataError, sqlite3.DatabaseError) as exc:
            error = _unreadable(exc, state)
            hint = f"\nhint: {error['hint']}" if error["hint"] else ""
            return PlainTextResponse(f"{head}{error['kind']}: {error['message']}{hint}\n", 503)
        return PlainTextResponse(head + text)

    methods = ["GET", "HEAD"]
    return Starlette(
        routes=[
            Route("/", as_text, methods=methods),
            Route("/status", as_text, methods=methods),
            Route("/status.json", as_json, methods=methods),
        ]
    )


def _unreadable(exc: StrataError | sqlite3.DatabaseError, state: Path) -> dict[str, Any]:
    """What a 503 says when the status cannot be read (a damaged state file, a topology
    that no longer loads): Strata's error as it locates it, or SQLite's, with the file.
    Neither carries a secret: the store holds none, and topology errors name places."""
    if isinstance(exc, StrataError):
        return exc.as_json()
    return {"kind": "state-file", "message": f"state file {state}: {exc}", "hint": None}


def _status_json(topology: Path, state: Path) -> dict[str, Any] | None:
    from strata.cli.status import status_json
    from strata.cli.status_clusters import read_clusters
    from strata.store import SQLiteStore

    if not state.exists():
        return None
    store = SQLiteStore(state, read_only=True)
    try:
        return status_json(store, read_clusters(topology))
    finally:
        store.close()


def _status_text(topology: Path, state: Path) -> str:
    from strata.cli.status import status_view
    from strata.cli.status_clusters import read_clusters
    from strata.store import SQLiteStore

    if not state.exists():
        return "no state yet: `strata apply` has not started its run\n"
    store = SQLiteStore(state, read_only=True)
    try:
        out = io.StringIO()
        console = Console(file=out, width=TEXT_WIDTH, color_system=None, highlight=False)
        console.print(status_view(store, read_clusters(topology)))
        return out.getvalue()
    finally:
        store.close()


class StatusServer:
    """``status_app`` listening on ``host:port`` on a daemon thread (it ends with the
    process); ``start`` returns once it listens, or raises StatusStartFailed."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        from strata.boot.server import boot_server

        self.host, self.port = host, port
        self.server, _ = boot_server(app, host, port)
        self._thread = threading.Thread(target=self.server.run, name="seed-status", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/status"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                raise StatusStartFailed(f"the seed's status could not listen on {self.url}")
            time.sleep(0.02)


def serve_status(
    listen: str, manifest: Manifest, run: RunDirectory, say: Callable[[str], None]
) -> tuple[SeedPhase, StatusServer | None]:
    """The seed's phase, and its status served where ``listen`` says: ``auto`` (its
    provisioning address, port ``PORT``: ``strata.seed.start.status_host``), ``none``,
    or ``HOST:PORT``. Says where, or why not; a server that cannot listen is said and
    the seed goes on without it (its run matters more than its window)."""
    from strata.cli.serve import listen_address
    from strata.seed.start import local_links, status_host

    phase = SeedPhase(manifest.topology, manifest.topology_sha256)
    if listen == "none":
        say("status: not served (--status-listen none)")
        return phase, None
    if listen == "auto":
        found = status_host(manifest.network, local_links())
        if found is None:
            say(
                "status: not served: this machine has no address on the provisioning "
                "network (give --status-listen HOST:PORT)"
            )
            return phase, None
        host, port = found, PORT
    else:
        host, port = listen_address(listen, "--status-listen")
    app = status_app(phase, run.topology, run.root / "state" / "strata.db")
    try:
        server = StatusServer(app, host, port)
        server.start()
    except (StatusStartFailed, OSError) as exc:
        say(f"status: not served: {exc}")
        return phase, None
    say(f"status: {server.url} (and {server.url}.json)")
    return phase, server


def hold_until_stopped() -> None:
    """Return on SIGTERM (systemctl stop, the machine's shutdown) or SIGINT; until then
    the status server's thread goes on answering."""
    import signal

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
