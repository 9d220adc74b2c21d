"""strata.lab.ports: free ports outside the kernel's ephemeral range."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from strata.lab.ports import free_port, outside_ephemeral


def _ephemeral_start() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_tcp_ports_are_listenable_and_below_the_ephemeral_range() -> None:
    ports = {free_port() for _ in range(20)}
    assert all(10_000 <= port < _ephemeral_start() for port in ports)
    assert len(ports) > 1  # chosen at random, not one fixed port
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports.pop()))
        server.listen()


def test_a_port_something_listens_on_is_never_chosen() -> None:
    taken: list[socket.socket] = []
    try:
        for _ in range(50):
            listener = socket.socket()
            listener.bind(("127.0.0.1", free_port()))
            listener.listen()
            taken.append(listener)
        held = {s.getsockname()[1] for s in taken}
        assert len(held) == 50
        assert not held & {free_port() for _ in range(50)}
    finally:
        for s in taken:
            s.close()


def test_udp_ports_are_bindable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", free_port(udp=True)))


@pytest.mark.parametrize(
    ("ephemeral", "chosen"),
    [
        ("32768\t60999", (10_000, 32_767)),  # Linux's default
        ("10500 60999", (61_000, 65_535)),  # no room below from 10,000: above
        ("10500 65535", (1_024, 10_499)),  # none above either: below from 1,024
        ("1024 65535", (1_024, 65_535)),  # no room anywhere: all, probed
        ("garbage", (10_000, 32_767)),
    ],
)
def test_the_range_keeps_clear_of_the_kernels(
    tmp_path: Path, ephemeral: str, chosen: tuple[int, int]
) -> None:
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text(ephemeral + "\n")
    assert outside_ephemeral(range_file) == chosen
