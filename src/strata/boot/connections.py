"""Who holds the boot service's connections, and which one gives way when they run out.

A pure bookkeeping class (no sockets, no clock) that the connection guard
(``strata.boot.protocol``) asks on every accepted connection. Two bounds: a total
(what the open-file limit allows) and one per client address, so that one client
cannot take the connections the datacenter's PXE traffic needs. A connection is
*idle* while it waits for a request head (a new connection, a kept-alive one between
requests, a slow-header one) and *busy* from a complete head until its response is
sent; a connection that has not been read yet is neither, and safe: the event loop
may accept a long run of connections before it reads any, and the newest must not
close the first before it was heard. Only idle connections give way, and of those only
the ones the caller says have nothing waiting to be read (a request may sit unread
while the loop accepts). At the per-client bound, the client's own oldest
idle connection is closed. At the total bound, the oldest idle connection is (nginx
closes its oldest reusable connections when it runs out, ``ngx_drain_connections`` in
``src/core/ngx_connection.c``): a slow or idle client has had its time, a machine that
has just connected has its head read before many newer connections come. Among the
``SCAN`` oldest, a connection that is its client's only idle one is passed over for
one of a client that holds several, so that a flood of held connections closes its
own first. With nothing among them to close, the new connection is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["SCAN", "Admission", "ConnectionRegistry", "client_key"]

C = TypeVar("C", bound=Hashable)
SCAN = 64  # idle connections looked at, oldest first, for one of a client with several


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
    (None: keep it); ``evicted`` is an idle connection to close to make room."""

    refused: str | None = None
    evicted: C | None = None


@dataclass(slots=True)
class _Client(Generic[C]):
    open: int = 0
    idle: dict[C, None] = field(default_factory=dict)  # oldest first


class ConnectionRegistry(Generic[C]):
    def __init__(self, max_total: int, max_per_client: int) -> None:
        if max_total < 1 or max_per_client < 1:
            raise ValueError("connection bounds must be at least 1")
        self.max_total, self.max_per_client = max_total, max_per_client
        self.total = 0
        self._clients: dict[str, _Client[C]] = {}
        self._owner: dict[C, str] = {}
        self._idle: dict[C, None] = {}  # every idle connection, oldest first

    def admit(
        self, conn: C, client: str, can_close: Callable[[C], bool] = lambda _: True
    ) -> Admission[C]:
        """Count ``conn`` in unless it must be refused; say what gives way. It is not idle
        (it cannot give way) until ``idle`` says so, once it has had its chance to be read."""
        holder = self._clients.get(client)
        victim: C | None = None
        if holder is not None and holder.open >= self.max_per_client:
            victim = self._victim(holder.idle, can_close)
            if victim is None:
                return Admission(refused="too many connections from this address")
        elif self.total >= self.max_total:
            victim = self._victim(self._idle, can_close)
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
        client = self._owner.get(conn)
        if client is not None:
            self._set_idle(conn, self._clients[client], True)

    def busy(self, conn: C) -> None:
        """``conn`` has a complete request head: it is served, not closed for room."""
        client = self._owner.get(conn)
        if client is not None:
            self._set_idle(conn, self._clients[client], False)

    def release(self, conn: C) -> None:
        """``conn`` is closed (or about to be); again is harmless."""
        client = self._owner.pop(conn, None)
        if client is None:
            return
        holder = self._clients[client]
        self._set_idle(conn, holder, False)
        holder.open -= 1
        self.total -= 1
        if holder.open == 0:
            del self._clients[client]

    def open_from(self, client: str) -> int:
        holder = self._clients.get(client)
        return holder.open if holder else 0

    def _victim(self, idle: Iterable[C], can_close: Callable[[C], bool]) -> C | None:
        """Of the ``SCAN`` oldest in ``idle`` that can close, the first whose client has
        several idle; else the first."""
        first: C | None = None
        for _, conn in zip(range(SCAN), idle, strict=False):
            if not can_close(conn):
                continue
            if len(self._clients[self._owner[conn]].idle) > 1:
                return conn
            if first is None:
                first = conn
        return first

    def _set_idle(self, conn: C, holder: _Client[C], idle: bool) -> None:
        holder.idle.pop(conn, None)
        self._idle.pop(conn, None)
        if idle:  # to the end: the newest idle
            holder.idle[conn] = None
            self._idle[conn] = None
