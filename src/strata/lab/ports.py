"""Free local ports for the lab's servers, picked outside the kernel's ephemeral range.

A port the kernel hands out for ``bind(0)`` comes from the same range it uses for
the source port of every outgoing connection. Between probing it and the server
binding it, any connection on the machine (a kube-apiserver's own clients to etcd,
a test's HTTP client) can take it, and the server fails with ``EADDRINUSE``: CI saw
``failed to listen on 127.0.0.1:56231: bind: address already in use``. Ports outside
the ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``, Linux
``Documentation/networking/ip-sysctl.rst``) are never used as source ports, so
only another listener choosing the same number can collide; the choice is random
and probed, and the control plane chooses again on a collision. A kernel whose
range leaves no room outside it (``1024 65535``) gets ports from anywhere, probed.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port", "outside_ephemeral"]

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000  # below: well-known and registered services people run
_ATTEMPTS = 200
_ROOM = 1_000  # ports a range must hold to be picked from


def free_port(host: str = "127.0.0.1", *, udp: bool = False) -> int:
    """A port on ``host`` that nothing listens on now and, where the kernel's ephemeral
    range leaves room (below it from 10,000, else above it, else from 1,024), that the
    kernel will not pick as an ephemeral source port. Raises ``OSError`` when none is
    found in ``_ATTEMPTS`` random probes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    low, high = outside_ephemeral()
    for _ in range(_ATTEMPTS):
        port = random.randint(low, high)
        if _bindable(family, kind, host, port):
            return port
    raise OSError(f"no free port on {host} in {low}-{high} after {_ATTEMPTS} tries")


def outside_ephemeral(range_file: Path = _RANGE) -> tuple[int, int]:
    """The port range (inclusive) ``free_port`` picks from: the first of below the
    ephemeral range from 10,000, above it, below it from 1,024 that holds at least
    1,000 ports; the whole unprivileged range when none does. ``range_file``: the
    kernel's ``ip_local_port_range`` (then a probed port can
    still be taken before it is bound, and callers retry)."""
    first, last = _ephemeral(range_file)
    for low, high in ((_LOWEST, first - 1), (last + 1, 65_535), (1_024, first - 1)):
        if high - low >= _ROOM:
            return low, high
    return 1_024, 65_535


def _bindable(family: int, kind: int, host: str, port: int) -> bool:
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral(range_file: Path) -> tuple[int, int]:
    try:
        first, last = (int(n) for n in range_file.read_text().split()[:2])
    except (OSError, ValueError):
        return 32_768, 60_999  # Linux's default
    return first, last
