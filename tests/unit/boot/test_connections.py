"""Which connection gives way when the boot service's connections run out, and the bounds
the open-file limit sets."""

from __future__ import annotations

import pytest

from strata.boot.connections import ConnectionRegistry, client_key
from strata.boot.limits import DEFAULT_LIMITS, Limits


def test_a_client_at_its_bound_loses_its_own_oldest_idle_connection() -> None:
    registry: ConnectionRegistry[str] = ConnectionRegistry(max_total=100, max_per_client=3)
    for conn in ("a1", "a2", "a3"):
        assert registry.admit(conn, "10.0.0.1").refused is None
    registry.idle("a1")  # a1 finished a request: now the newest idle
    admission = registry.admit("a4", "10.0.0.1")
    assert (admission.refused, admission.evicted) == (None, "a2")
    assert registry.open_from("10.0.0.1") == 3


def test_a_client_at_its_bound_with_nothing_idle_is_refused() -> None:
    registry: ConnectionRegistry[str] = ConnectionRegistry(max_total=100, max_per_client=2)
    for conn in ("a1", "a2"):
        registry.admit(conn, "10.0.0.1")
        registry.busy(conn)
    assert registry.admit("a3", "10.0.0.1").refused == "too many connections from this address"
    assert registry.admit("b1", "10.0.0.2").refused is None  # others are not affected


def test_at_the_total_bound_the_heaviest_idle_client_gives_way() -> None:
    registry: ConnectionRegistry[str] = ConnectionRegistry(max_total=6, max_per_client=10)
    registry.admit("machine", "10.0.0.9")  # one connection, idle: waits for its head
    for i in range(5):
        registry.admit(f"slow{i}", f"10.0.1.{i % 2}")  # 3 from .0, 2 from .1
    admission = registry.admit("new", "10.0.0.7")
    assert admission.evicted == "slow0"  # the oldest idle of the client with the most
    assert registry.total == 6
    assert registry.admit("again", "10.0.0.8").evicted in {"slow2", "slow1"}  # now 2 and 2


def test_busy_connections_never_give_way() -> None:
    registry: ConnectionRegistry[str] = ConnectionRegistry(max_total=2, max_per_client=10)
    for conn, client in (("x", "10.0.0.1"), ("y", "10.0.0.2")):
        registry.admit(conn, client)
        registry.busy(conn)
    refused = registry.admit("z", "10.0.0.3").refused
    assert refused == "the boot service is at its connection limit"
    registry.idle("y")  # y's response is sent: it waits for its next request
    assert registry.admit("z", "10.0.0.3").evicted == "y"


def test_release_is_idempotent_and_frees_the_client() -> None:
    registry: ConnectionRegistry[str] = ConnectionRegistry(max_total=1, max_per_client=1)
    registry.admit("a", "10.0.0.1")
    registry.release("a")
    registry.release("a")
    assert registry.total == 0
    assert registry.open_from("10.0.0.1") == 0
    assert registry.admit("b", "10.0.0.1").evicted is None


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.168.110.20", "192.168.110.20"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # one host may use its whole /64
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        (None, "local"),
    ],
)
def test_client_key(host: str | None, key: str) -> None:
    assert client_key(host) == key


def test_the_connection_budget_follows_the_open_file_limit() -> None:
    assert DEFAULT_LIMITS.connection_budget(1024) == 480  # (1024 - 64) / 2
    assert DEFAULT_LIMITS.connection_budget(1 << 20) == DEFAULT_LIMITS.max_connections
    assert DEFAULT_LIMITS.connection_budget(10) == 1
    assert Limits(max_connections=100).open_files_wanted() == 264
