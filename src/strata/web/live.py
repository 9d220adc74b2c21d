"""What the dashboard draws and follows (docs/web.md, "Dashboard"):

- ``GET /api/v1/racks``: every server as a slot of its rack, by region, zone and
  rack, with its state and layer, in one answer (the rack view's first paint), and
  ``cursor``: the event log's position read before the servers were, from which
  ``/api/v1/changes`` goes on (a change in between is sent again: the same state).
- ``GET /api/v1/changes?after=ID``: server-sent events (HTML Living Standard,
  "Server-sent events"): one ``data:`` line per state change after log entry ``ID``
  (or the ``Last-Event-ID`` header of a reconnect), ``{"id", "node", "state", "at"}``,
  the log read every ``POLL_SECONDS``; a comment every ``HEARTBEAT_SECONDS`` keeps
  proxies from closing it. Read with ``fetch`` (its reader), the bearer token can go
  in a header as with every view. The stream ends when the face stops, and when its
  access, asked again every ``RECHECK_SECONDS``, no longer lets the client see.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Protocol

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from strata.store.records import LogEntry, NodeSummary
from strata.web.access import HEADERS, Access, bad_request, refused, unknown_parameters

__all__ = ["LiveSource", "RackView", "RacksView", "live_routes"]

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
RECHECK_SECONDS = 5.0  # an open stream asks its access again this often
BATCH = 1000  # log entries read at once
KINDS = ("state", "declared")  # the log entries that move a server (strata.controller)


class Slot(BaseModel):
    name: str
    state: str
    layer: str


class RackView(BaseModel):
    region: str
    zone: str
    rack: str
    servers: list[Slot]


class RacksView(BaseModel):
    cursor: int
    racks: list[RackView]


class LiveSource(Protocol):
    def summaries(self) -> list[NodeSummary]: ...

    def recent_events(self, limit: int) -> list[LogEntry]: ...

    def events_since(
        self, after: int, limit: int = 10_000, kinds: Collection[str] | None = None
    ) -> list[LogEntry]: ...


def live_routes(
    source: LiveSource, access: Access, stopping: threading.Event | None = None
) -> list[Route]:
    """``/api/v1/racks`` and ``/api/v1/changes`` over ``source`` (a store); an open
    stream ends once ``stopping`` is set (the web face stops)."""
    stopping = stopping or threading.Event()

    async def racks(request: Request) -> Response:
        refusal = await refused(access, request) or unknown_parameters(request, ())
        if refusal is not None:
            return refusal
        view = await asyncio.to_thread(racks_view, source)
        return JSONResponse(view.model_dump(mode="json"), headers=HEADERS)

    async def changes(request: Request) -> Response:
        refusal = await refused(access, request) or unknown_parameters(request, ("after",))
        if refusal is not None:
            return refusal
        given = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        if not (given.isascii() and given.isdigit() and len(given) <= 19 and int(given) < 2**63):
            return bad_request(f"after {given[:40]!r}: give a log position (a cursor)")

        asked = time.monotonic()

        async def ended() -> bool:
            """The face stopped (or its object went), the client left, or its right to
            see was taken back (asked again every ``RECHECK_SECONDS``)."""
            nonlocal asked
            if stopping.is_set() or await request.is_disconnected():
                return True
            if time.monotonic() - asked < RECHECK_SECONDS:
                return False
            asked = time.monotonic()
            return await refused(access, request) is not None

        stream = _changes(source, int(given), ended)
        return StreamingResponse(stream, media_type="text/event-stream", headers=HEADERS)

    return [Route("/api/v1/racks", racks), Route("/api/v1/changes", changes)]


def racks_view(source: LiveSource) -> RacksView:
    """Every server in its rack (racks and servers by name), and the log's position."""
    newest = source.recent_events(1)
    cursor = newest[-1].id if newest else 0  # before the servers: nothing falls between
    by_rack: dict[tuple[str, str, str], list[Slot]] = {}
    for s in source.summaries():
        by_rack.setdefault((s.region, s.zone, s.rack), []).append(
            Slot(name=s.name, state=s.state, layer=s.layer)
        )
    racks = [
        RackView(region=r, zone=z, rack=k, servers=sorted(slots, key=lambda s: s.name))
        for (r, z, k), slots in sorted(by_rack.items())
    ]
    return RacksView(cursor=cursor, racks=racks)


async def _changes(
    source: LiveSource, after: int, ended: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """The stream: each poll reads only the log entries written since the last one (the
    newest position first, then the state changes up to it), whatever else the log
    holds."""
    quiet = 0.0
    yield "retry: 2000\n\n"
    while not await ended():
        newest = await asyncio.to_thread(_newest, source)
        entries: list[LogEntry] = []
        if newest > after:
            entries = await asyncio.to_thread(source.events_since, after, BATCH, KINDS)
            entries = [e for e in entries if e.id <= newest]
        for entry in entries:
            state = entry.detail.get("to") if entry.kind == "state" else "declared"
            if isinstance(state, str):
                data = {"id": entry.id, "node": entry.node, "state": state, "at": entry.at}
                yield f"id: {entry.id}\ndata: {json.dumps(data)}\n\n"
        after = entries[-1].id if len(entries) == BATCH else max(after, newest)
        if entries:
            quiet = 0.0
            continue
        quiet += POLL_SECONDS
        if quiet >= HEARTBEAT_SECONDS:
            quiet = 0.0
            yield ": still here\n\n"
        await asyncio.sleep(POLL_SECONDS)


def _newest(source: LiveSource) -> int:
    newest = source.recent_events(1)
    return newest[-1].id if newest else 0
