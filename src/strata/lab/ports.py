"""Free local ports for the lab's servers, picked outside the kernel's ephemeral range.

A port the kernel hands out for ``bind(0)`` comes from the same range it uses for
the source port of every outgoing connection. Between probing it and the server
binding it, any connection on the machine (a kube-apiserver's own clients to etcd,
a test's HTTP client) can take it, and the server fails with ``EADDRINUSE``: CI saw
``failed to listen on 127.0.0.1:56231: bind: address already in use``. Ports below
the ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``, Linux
``Documentation/networking/ip-sysctl.rst``) are never used as source ports, so
only another listener choosing the same number can collide; the choice is random
and probed, and callers that start servers still retry once on a collision.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000  # below: well-known and registered services people run
_ATTEMPTS = 200


def free_port(host: str = "127.0.0.1", *, udp: bool = False) -> int:
    """A port on ``host`` that nothing listens on now and that the kernel will not
    pick as an ephemeral source port. Raises ``OSError`` when none is found in
    ``_ATTEMPTS`` random probes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    low, high = _LOWEST, _ephemeral_start() - 1
    for _ in range(_ATTEMPTS):
        port = random.randint(low, high)
        if _bindable(family, kind, host, port):
            return port
    raise OSError(f"no free port on {host} in {low}-{high} after {_ATTEMPTS} tries")


def _bindable(family: int, kind: int, host: str, port: int) -> bool:
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_start() -> int:
    try:
        start = int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default start
    return start if start > _LOWEST + 1_000 else 32_768
