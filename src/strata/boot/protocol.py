"""uvicorn's HTTP protocol with the connection limits uvicorn lacks.

uvicorn (read at 0.54, httptools protocol) gives a keep-alive timeout, which it arms only
after a response, and ``limit_concurrency``, which answers 503 once the connections
*held* reach it: slow or idle clients fill it and starve everyone. It has no bound
on a request head's size (httptools keeps every byte of an unterminated header),
no timeout for a head that never completes (Kludex/uvicorn#1192: a new connection
that sends nothing is never closed), no per-client bound, and no timeout for a
client that stops reading. Those belong where bytes arrive, below ASGI, so this
module subclasses uvicorn's httptools protocol (the class it uses by default) and
adds them around its parser callbacks; which routes read a body, and how much and how
long, is ASGI (``strata.boot.body``). What gives way when connections run out is decided
by ``strata.boot.connections``; this module tells it when a connection may give way:
once the loop has had a pass to read it (or has read it), while it waits for a head,
and while the body its head declared is still arriving and no answer has begun; only
if nothing waits unread in its socket (a request, or more of the body, that the loop
has not reached yet); and how far each body has come. A connection closed for room
mid-body is told so (``408``, RFC 9110 15.5.9: the request did not arrive in the time
the service could wait); the route waiting for that body sees the client go away.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from strata.boot.body import declares_body
from strata.boot.connections import ConnectionRegistry, client_key
from strata.boot.head_case import CanonicalHeads
from strata.boot.limits import Limits

__all__ = ["REPORT_SECONDS", "Guard", "GuardedProtocol", "guarded_protocol"]

log = logging.getLogger("strata.boot")

REPORT_SECONDS = 60.0  # what the guard did is logged at most this often: a flood is one line


class Guard:
    """What every connection of one server shares: the limits, the registry, counters."""

    def __init__(
        self, limits: Limits, max_connections: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.registry: ConnectionRegistry[GuardedProtocol] = ConnectionRegistry(
            max_connections, limits.max_connections_per_client
        )
        self.counts: Counter[str] = Counter()  # since the start, by what happened
        self._clock = clock
        self._reported: Counter[str] = Counter()
        self._last_report = clock()

    def note(self, what: str) -> None:
        """Count a refusal or a closed connection; log the counts once a minute at most."""
        self.counts[what] += 1
        now = self._clock()
        if now - self._last_report < REPORT_SECONDS:
            return
        fresh = self.counts - self._reported
        self._reported, self._last_report = Counter(self.counts), now
        log.warning(
            "event=connections-limited seconds=%d open=%d %s",
            REPORT_SECONDS,
            self.registry.total,
            " ".join(f"{k}={v}" for k, v in sorted(fresh.items())),
        )


class GuardedProtocol(HttpToolsProtocol):
    """One connection: admitted or refused at accept, its head bounded in bytes and
    time, its idle spells and slow bodies visible to the registry, its stalled sends
    dropped."""

    guard: ClassVar[Guard]  # set on the subclass ``guarded_protocol`` makes for a server

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._reading_head = True  # between requests, or inside a request head
        self._head_bytes = 0
        self._heads = 0  # complete heads so far: did this read finish one?
        self._head_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._heard = False  # read once, or the loop had a pass to read it: it may give way
        self._receiving = False  # a complete head whose declared body is still arriving
        self._body_bytes = 0  # of that body, so far

    # -- the connection -----------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        client = client_key(self.client[0] if self.client else None)
        admission = self.guard.registry.admit(self, client, _may_close, _body_bytes)
        if admission.evicted is not None:
            admission.evicted._give_way()
        if admission.refused is not None:
            self.guard.note("refused")
            self._answer(503, admission.refused)
            return
        self._arm_head_timer()  # a new connection owes its first head within the timeout
        # Two hops of call_soon: the loop has polled its sockets once since this accept.
        self.loop.call_soon(self.loop.call_soon, self._hear)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self.guard.registry.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser no more head bytes than the limit allows: httptools would keep
        an unterminated header whole. A head that one read does not complete starts the
        head timer (a new connection's runs from the accept). (A pipelined head that
        starts inside a read that finished an earlier request is counted from the next
        read on.)"""
        self._hear()
        if not self._reading_head:
            super().data_received(data)
            return
        room = self.guard.limits.max_head_bytes - self._head_bytes
        if len(data) > room:
            self._feed_over(data, room)
            return
        self._head_bytes += len(data)  # the common case: a whole head in one read, no copies
        super().data_received(data)
        waiting = self._reading_head and self._head_bytes and self._head_timer is None
        if waiting and not self.transport.is_closing():
            self._arm_head_timer()

    def _feed_over(self, data: bytes, room: int) -> None:
        """Feed ``room`` bytes; the rest only if they completed the head, else ``431``."""
        heads = self._heads
        self._head_bytes += room
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._heads == heads:  # the head is still not complete, and there is more
            self.guard.note("head-too-large")
            self._answer(431, f"the request head exceeds {self.guard.limits.max_head_bytes} bytes")
            return
        self.data_received(data[room:])

    # -- parser callbacks -------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._reading_head, self._heard = False, True
        self._heads += 1
        self._cancel_head_timer()
        self._receiving, self._body_bytes = declares_body(self.headers), 0
        if self._receiving:
            self.guard.registry.receiving(self)
        else:
            self.guard.registry.busy(self)
        super().on_headers_complete()
        self.cycle.transport = CanonicalHeads(self.transport)  # type: ignore[assignment]  # for GRUB

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head, self._head_bytes = True, 0
        if self._receiving:
            self._receiving = False
            if not self.transport.is_closing():
                self.guard.registry.busy(self)  # the request is whole: it is being served

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if pipelined or self.transport.is_closing():
            return
        if self._receiving:  # answered before its body came: not reusable (strata.boot.body)
            self.transport.close()
        else:
            self.guard.registry.idle(self)  # uvicorn's keep-alive timer runs from here

    # -- a client that stops reading -----------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(
                self.guard.limits.send_timeout, self._send_stalled
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _send_stalled(self) -> None:
        self._send_timer = None
        self.guard.note("send-stalled")
        self.transport.abort()  # close() would wait for the buffer it cannot send

    # -- helpers -------------------------------------------------------------

    def _give_way(self) -> None:
        """Closed to make room for a new connection: an idle one quietly (RFC 9112 9.5
        allows closing an idle connection), one whose body was still arriving with a
        ``408``."""
        if self._receiving:
            self.guard.note("slow-body-closed-for-room")
            self._answer(408, "the request body was too slow for a service at its connection limit")
        else:
            self.guard.note("idle-closed-for-room")
            self.transport.close()

    def _hear(self) -> None:
        """From now on, while it waits for a head, this connection may give way."""
        if not self._heard and not self.transport.is_closing():
            self._heard = True
            self.guard.registry.idle(self)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(
            self.guard.limits.head_timeout, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        self.guard.note("head-timeout")
        if self._head_bytes:
            self._answer(408, "the request head took too long")
        else:  # nothing asked: close quietly (RFC 9112 9.5 allows closing an idle connection)
            self.transport.close()

    def _answer(self, status: int, reason: str) -> None:
        """A last answer, written by the connection itself (no request reached the app),
        then close; the client is told why."""
        body = f"{reason}\n".encode()
        head = (
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        self.transport.write(STATUS_LINE[status] + head + body)
        self.transport.close()
        self.guard.registry.release(self)


def _may_close(conn: GuardedProtocol) -> bool:
    """The connection may give way: nothing is being answered on it (a request answered
    before its body was read, or one whose head came pipelined behind a request being
    answered) and nothing waits unread in its socket."""
    started = conn.cycle is not None and conn.cycle.response_started
    answering = conn._receiving and (started or bool(conn.pipeline))
    return not answering and _quiet(conn)


def _body_bytes(conn: GuardedProtocol) -> int:
    return conn._body_bytes


def _quiet(conn: GuardedProtocol) -> bool:
    """Nothing waits unread on the connection's socket (ioctl FIONREAD, tcp(7)): closing it
    loses no request."""
    sock = conn.transport.get_extra_info("socket")
    if sock is None:
        return True
    waiting = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, waiting)
    except OSError:
        return True
    return waiting[0] == 0


def guarded_protocol(guard: Guard) -> type[GuardedProtocol]:
    """The protocol class for one server: uvicorn instantiates the class it is given, so
    the guard its connections share travels as a class attribute of a fresh subclass."""

    class BootServiceProtocol(GuardedProtocol):
        pass

    BootServiceProtocol.guard = guard
    return BootServiceProtocol
