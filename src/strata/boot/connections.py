"""Who holds the boot service's connections, and which one gives way when they run out.

A pure bookkeeping class (no sockets, no clock) that the connection guard
(``strata.boot.protocol``) asks on every accepted connection. Two bounds: a total
(what the open-file limit allows) and one per client address, so that one client
cannot take the connections the datacenter's PXE traffic needs.

A connection is, in turn:

- *unheard*: accepted, not read yet. Safe: the event loop may accept a long run of
  connections before it reads any, and the newest must not close the first before it
  was heard.
- *idle*: waiting for a request head (a new connection, a kept-alive one between
  requests, a slow-header one).
- *receiving*: its head is complete and the body it declared is still arriving.
- *busy*: its request is whole (or its answer has begun) until the response is sent.

Idle and receiving connections may give way, and of those only the ones the caller
says may close (nothing waits unread in the socket: a request, or more of a body,
may sit there while the loop accepts; an answer has not begun). Busy ones never do: a
machine fetching its kernel is not cut off.

At the per-client bound, the client's own oldest idle connection is closed, else its
own receiving one whose body has come least far. At the total bound, in this order:

1. the oldest idle connection of a client with several idle (nginx closes its oldest
   reusable connections when it runs out, ``ngx_drain_connections`` in
   ``src/core/ngx_connection.c``: a slow or idle client has had its time, and a flood
   of held connections closes its own first);
2. a receiving connection of a client holding several connections: of the client
   holding the most, the one whose body has come least far (then the oldest). A body
   that crawls is the slow-body (slow POST) attack: without this, a few addresses
   that complete their heads and then send a byte a second hold the whole table;
3. the oldest idle connection that is its client's only idle one;
4. the receiving connection whose body has come least far, a client's only one.

Closing an idle connection loses nothing (the client sends its request again, RFC 9112
9.3.1); closing a receiving one loses its request, so those come after idle ones of
the same kind, and a client's only connection goes last. Each step looks at the
``SCAN`` oldest idle or receiving connections only, so that an accept costs the same
however many are held. With nothing among them to close, the new connection is
refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Generic, TypeVar

__all__ = ["SCAN", "Admission", "ConnectionRegistry", "client_key"]

C = TypeVar("C", bound=Hashable)
SCAN = 64  # idle (or receiving) connections looked at, oldest first, for one to close


def client_key(host: str | None) -> str:
    """The address a per-client bound counts: an IPv4 address, or an IPv6 /64 (one
    host's share of a subnet: it may use any address in it, RFC 4291 2.5.1)."""
    if not host:
        return "local"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class Admission(Generic[C]):
    """What to do with a new connection: ``refused`` says why it must be turned away
    (None: keep it); ``evicted`` is an idle or receiving connection to close for room."""

    refused: str | None = None
    evicted: C | None = None


@dataclass(slots=True)
class _Client(Generic[C]):
    open: int = 0
    idle: dict[C, None] = field(default_factory=dict)  # oldest first
    receiving: dict[C, None] = field(default_factory=dict)  # oldest first


def _never_read(_: object) -> int:
    return 0


class ConnectionRegistry(Generic[C]):
    def __init__(self, max_total: int, max_per_client: int) -> None:
        if max_total < 1 or max_per_client < 1:
            raise ValueError("connection bounds must be at least 1")
        self.max_total, self.max_per_client = max_total, max_per_client
        self.total = 0
        self._clients: dict[str, _Client[C]] = {}
        self._owner: dict[C, str] = {}
        self._idle: dict[C, None] = {}  # every idle connection, oldest first
        self._receiving: dict[C, None] = {}  # every receiving connection, oldest first

    def admit(
        self,
        conn: C,
        client: str,
        can_close: Callable[[C], bool] = lambda _: True,
        progress: Callable[[C], int] = _never_read,
    ) -> Admission[C]:
        """Count ``conn`` in unless it must be refused; say what gives way. ``progress``
        is how much of its body a receiving connection has sent (bytes). ``conn`` is
        unheard (it cannot give way) until ``idle`` says so, once it had its chance to
        be read."""
        holder = self._clients.get(client)
        victim: C | None = None
        if holder is not None and holder.open >= self.max_per_client:
            victim = self._first(holder.idle, can_close) or self._slowest(
                holder.receiving, can_close, progress, several=False
            )
            if victim is None:
                return Admission(refused="too many connections from this address")
        elif self.total >= self.max_total:
            victim = self._for_room(can_close, progress)
            if victim is None:
                return Admission(refused="the boot service is at its connection limit")
        if victim is not None:
            self.release(victim)
        holder = self._clients.setdefault(client, _Client())
        holder.open += 1
        self.total += 1
        self._owner[conn] = client
        return Admission(evicted=victim)

    def idle(self, conn: C) -> None:
        """``conn`` waits for a request head: it may give way to a new connection."""
        self._set(conn, idle=True)

    def receiving(self, conn: C) -> None:
        """``conn`` has a complete head and its body is arriving: it may give way, after
        the idle ones."""
        self._set(conn, receiving=True)

    def busy(self, conn: C) -> None:
        """``conn`` has a whole request, or its answer has begun: it is served, never
        closed for room."""
        self._set(conn)

    def release(self, conn: C) -> None:
        """``conn`` is closed (or about to be); again is harmless."""
        self._set(conn)
        client = self._owner.pop(conn, None)
        if client is None:
            return
        holder = self._clients[client]
        holder.open -= 1
        self.total -= 1
        if holder.open == 0:
            del self._clients[client]

    def open_from(self, client: str) -> int:
        holder = self._clients.get(client)
        return holder.open if holder else 0

    # -- which gives way -----------------------------------------------------

    def _for_room(self, can_close: Callable[[C], bool], progress: Callable[[C], int]) -> C | None:
        """At the total bound: the four steps of the module's docstring."""
        idle = [c for c in islice(self._idle, SCAN) if can_close(c)]
        for conn in idle:
            if len(self._clients[self._owner[conn]].idle) > 1:
                return conn
        hog = self._slowest(self._receiving, can_close, progress, several=True)
        if hog is not None:
            return hog
        if idle:
            return idle[0]
        return self._slowest(self._receiving, can_close, progress, several=False)

    def _first(self, idle: Iterable[C], can_close: Callable[[C], bool]) -> C | None:
        return next((c for c in islice(idle, SCAN) if can_close(c)), None)

    def _slowest(
        self,
        receiving: Iterable[C],
        can_close: Callable[[C], bool],
        progress: Callable[[C], int],
        several: bool,
    ) -> C | None:
        """Of the ``SCAN`` oldest receiving connections that can close (``several``: of
        clients holding more than one), the one of the client holding the most, whose
        body has come least far; the oldest of equals."""
        best: C | None = None
        best_key: tuple[int, int] | None = None
        for conn in islice(receiving, SCAN):
            held = self._clients[self._owner[conn]].open
            if several and held < 2:
                continue
            if not can_close(conn):
                continue
            key = (-held, progress(conn))
            if best_key is None or key < best_key:
                best, best_key = conn, key
        return best

    def _set(self, conn: C, idle: bool = False, receiving: bool = False) -> None:
        """Move ``conn`` to idle, receiving, or neither (busy): to the end, the newest."""
        client = self._owner.get(conn)
        if client is None:
            return
        holder = self._clients[client]
        for pool in (holder.idle, holder.receiving, self._idle, self._receiving):
            pool.pop(conn, None)
        if idle:
            holder.idle[conn] = None
            self._idle[conn] = None
        elif receiving:
            holder.receiving[conn] = None
            self._receiving[conn] = None
