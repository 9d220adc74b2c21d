"""Who holds the boot service's connections, and which one gives way when they run out.

A pure bookkeeping class (no sockets, no clock) that the connection guard
(``strata.boot.protocol``) asks on every accepted connection. Two bounds: a total
(what the open-file limit allows) and one per client address, so that one client
cannot take the connections the datacenter's PXE traffic needs. A connection is
*idle* while it waits for a request head (a new connection, a kept-alive one between
requests, a slow-header one) and *busy* from a complete head until its response is
sent. Only idle connections give way: at a bound, the idle connection to close is the
oldest of the client that holds the most idle ones (nginx closes its oldest reusable
connections when it runs out, ``ngx_drain_connections`` in
``src/core/ngx_connection.c``; choosing the heaviest client first keeps a machine with
one connection clear of a flood from a few addresses). With nothing idle to close,
the new connection is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Admission", "ConnectionRegistry", "client_key"]

C = TypeVar("C", bound=Hashable)


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
        # clients by how many idle connections they hold: the heaviest found in O(bound)
        self._by_idle: list[dict[str, None]] = [{} for _ in range(max_per_client + 1)]

    def admit(self, conn: C, client: str) -> Admission[C]:
        """Count ``conn`` in (idle) unless it must be refused; say what gives way."""
        holder = self._clients.get(client)
        victim: C | None = None
        if holder is not None and holder.open >= self.max_per_client:
            victim = next(iter(holder.idle), None)
            if victim is None:
                return Admission(refused="too many connections from this address")
        elif self.total >= self.max_total:
            victim = self._heaviest_idle()
            if victim is None:
                return Admission(refused="the boot service is at its connection limit")
        if victim is not None:
            self.release(victim)
        holder = self._clients.setdefault(client, _Client())
        holder.open += 1
        self.total += 1
        self._owner[conn] = client
        self._set_idle(conn, holder, client, True)
        return Admission(evicted=victim)

    def idle(self, conn: C) -> None:
        """``conn`` waits for a request head: it may give way to a new connection."""
        client = self._owner.get(conn)
        if client is not None:
            self._set_idle(conn, self._clients[client], client, True)

    def busy(self, conn: C) -> None:
        """``conn`` has a complete request head: it is served, not closed for room."""
        client = self._owner.get(conn)
        if client is not None:
            self._set_idle(conn, self._clients[client], client, False)

    def release(self, conn: C) -> None:
        """``conn`` is closed (or about to be); again is harmless."""
        client = self._owner.pop(conn, None)
        if client is None:
            return
        holder = self._clients[client]
        self._set_idle(conn, holder, client, False)
        holder.open -= 1
        self.total -= 1
        if holder.open == 0:
            del self._clients[client]
            self._by_idle[0].pop(client, None)

    def open_from(self, client: str) -> int:
        holder = self._clients.get(client)
        return holder.open if holder else 0

    def _heaviest_idle(self) -> C | None:
        for bucket in reversed(self._by_idle[1:]):
            for client in bucket:
                return next(iter(self._clients[client].idle))
        return None

    def _set_idle(self, conn: C, holder: _Client[C], client: str, idle: bool) -> None:
        before = len(holder.idle)
        holder.idle.pop(conn, None)
        if idle:
            holder.idle[conn] = None  # to the end: the newest idle
        after = len(holder.idle)
        if after != before or client not in self._by_idle[after]:
            self._by_idle[before].pop(client, None)
            self._by_idle[after][client] = None
