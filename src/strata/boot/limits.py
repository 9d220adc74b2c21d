"""How much the boot service gives any one client, and all of them together.

The boot service answers every machine that PXE-boots on the provisioning network,
known or not, before any token is checked: it must stay up for the machines that
need it whatever other clients do. These limits bound what a client can hold
(connections, bytes, seconds) and what the process needs (open files). The values
follow servers that face the same traffic; each field names its source.

``strata serve`` and ``strata apply`` build their server from one ``Limits``
(``strata.boot.server.boot_server``); tests pass smaller timeouts to run fast.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_head_bytes: int = 16 * 1024
    """Bytes of one request head (request line and header fields) before it is refused
    with ``431``. Node's ``http.maxHeaderSize`` and h11's default (16 KiB); an iPXE
    request head is under 1 KiB, its longest URL (a token) under 200 bytes."""

    head_timeout: float = 10.0
    """Seconds a request head may take to arrive, counted from the connection (for its
    first request) or from the head's first byte (on a kept-alive connection); then
    ``408`` and the connection is closed. Go's ``Server.ReadHeaderTimeout``, nginx's
    ``client_header_timeout`` (60 s); a slow-header (slowloris) client holds a
    connection this long at most, and an idle new connection too."""

    keep_alive_timeout: int = 5
    """Seconds an idle kept-alive connection waits for its next request: uvicorn's own
    ``timeout_keep_alive`` (its default). iPXE reuses a connection at once or not at all."""

    max_body_bytes: int = 64 * 1024
    """Bytes of a request body before it is refused with ``413``. A phone-home body is
    ``{"event": "installed"}``; 64 KiB is uvicorn's ``HIGH_WATER_LIMIT``, so a body
    within the limit never pauses the connection's reading."""

    body_timeout: float = 2.0
    """Seconds the whole request body may take once the service asks for it; then ``408``.
    Only the phone-home asks (``strata.boot.body``), and its body is tens of bytes
    (``{"event": "installed"}``), which curl sends with the head or in the segment after
    it. Two seconds is what that needs and then some: a lost segment is sent again after
    the retransmission timeout, which RFC 6298 (2.4) floors at 1 s and Linux at 200 ms
    (``TCP_RTO_MIN``), doubling each time (5.5); a body at the 64 KiB limit arrives in
    under 2 s at 300 kbit/s. General-purpose servers allow uploads far longer (nginx's
    ``client_body_timeout``, 60 s between reads; Apache's ``RequestReadTimeout body=20``):
    every such second is a second a slow-body client holds a connection."""

    send_timeout: float = 60.0
    """Seconds a response may stall because the client reads nothing (the socket's send
    buffer stays full); then the connection is dropped. nginx's ``send_timeout``."""

    max_connections: int = 8192
    """Connections held at once, whatever the open-file limit allows: the ceiling. The
    bound in force is the smaller of this and what the open-file limit leaves (see
    ``connection_budget``). When it is reached, the oldest idle connection is closed to
    make room (nginx reuses its idle connections the same way, ``ngx_drain_connections``),
    then the slowest request body from the address holding the most connections, a
    client's only connection last (``strata.boot.connections``); with none, ``503``."""

    max_connections_per_client: int = 64
    """Connections one client address (an IPv6 /64) holds at once. A booting machine
    uses one or two; the QEMU lab's user network shows all its machines as one address.
    A client at its bound that opens another loses its own oldest idle connection, else
    its own slowest request body, or, with neither, gets ``503``."""

    fd_reserve: int = 64
    """Open files kept for everything but client connections: the SQLite file and its
    WAL and shared memory, the listening socket, the event loop, dnsmasq's pipes, logs."""

    fds_per_connection: int = 2
    """Open files one connection may need: its socket, and the artifact it is sending."""

    max_backlog: int = 2048
    """Connections the kernel queues before the service accepts them (listen(2)'s
    backlog; uvicorn's default, capped by ``net.core.somaxconn``). The service accepts
    a whole queue at once, each a descriptor before the guard can close any: the
    backlog in force is the connection bound when that is smaller, so that a burst
    cannot run the process out of descriptors; SYNs beyond it wait in the client's
    TCP retransmission, as they should."""

    def connection_budget(self, open_files: int) -> int:
        """The connection bound for a process allowed ``open_files`` descriptors: what
        is left after the reserve, for each connection its own descriptors and one in the
        backlog (up to ``max_backlog``). With 1,024 (a common default), 320; never more
        than ``max_connections``."""
        usable = open_files - self.fd_reserve
        bound = usable // (self.fds_per_connection + 1)
        if bound > self.max_backlog:
            bound = (usable - self.max_backlog) // self.fds_per_connection
        return max(1, min(self.max_connections, bound))

    def backlog(self, connections: int) -> int:
        """The listen backlog that goes with a connection bound."""
        return min(connections, self.max_backlog)

    def open_files_wanted(self) -> int:
        """The soft open-file limit that lets ``max_connections`` be reached."""
        backlog = self.backlog(self.max_connections)
        return self.max_connections * self.fds_per_connection + backlog + self.fd_reserve


DEFAULT_LIMITS = Limits()
