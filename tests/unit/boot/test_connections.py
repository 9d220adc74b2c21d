"""Which connection gives way when the boot service's connections run out, and the bounds
the open-file limit sets."""

from __future__ import annotations

import pytest

from strata.boot.connections import SCAN, ConnectionRegistry, client_key
from strata.boot.limits import DEFAULT_LIMITS, Limits

Registry = ConnectionRegistry[str]


def heard(registry: Registry, conn: str, client: str) -> None:
    """Admit ``conn`` and let it be read once: from then on it is idle, and may give way."""
    assert registry.admit(conn, client).refused is None
    registry.idle(conn)


def test_a_client_at_its_bound_loses_its_own_oldest_idle_connection() -> None:
    registry: Registry = ConnectionRegistry(max_total=100, max_per_client=3)
    for conn in ("a1", "a2", "a3"):
        heard(registry, conn, "10.0.0.1")
    registry.idle("a1")  # a1 finished a request: now the newest idle
    admission = registry.admit("a4", "10.0.0.1")
    assert (admission.refused, admission.evicted) == (None, "a2")
    assert registry.open_from("10.0.0.1") == 3


def test_a_client_at_its_bound_with_nothing_idle_is_refused() -> None:
    registry: Registry = ConnectionRegistry(max_total=100, max_per_client=2)
    for conn in ("a1", "a2"):
        heard(registry, conn, "10.0.0.1")
        registry.busy(conn)
    assert registry.admit("a3", "10.0.0.1").refused == "too many connections from this address"
    assert registry.admit("b1", "10.0.0.2").refused is None  # others are not affected


def test_at_the_total_bound_the_oldest_idle_gives_way_a_clients_only_one_last() -> None:
    registry: Registry = ConnectionRegistry(max_total=6, max_per_client=10)
    heard(registry, "machine", "10.0.0.9")  # one connection, idle: waits for its head
    for i in range(5):
        heard(registry, f"slow{i}", f"10.0.1.{i % 2}")  # 3 from .0, 2 from .1
    evicted = []
    for i in range(4):
        evicted.append(registry.admit(f"new{i}", f"10.0.2.{i}").evicted)
        registry.idle(f"new{i}")
    assert evicted == ["slow0", "slow1", "slow2", "machine"]  # then all hold one each
    assert registry.total == 6


def test_a_connection_not_yet_read_never_gives_way() -> None:
    registry: Registry = ConnectionRegistry(max_total=2, max_per_client=10)
    registry.admit("fresh0", "10.0.0.1")
    registry.admit("fresh1", "10.0.0.1")  # accepted in one pass of the loop, unread
    refused = registry.admit("flood", "10.0.0.2").refused
    assert refused == "the boot service is at its connection limit"


def test_a_connection_with_a_request_waiting_never_gives_way() -> None:
    registry: Registry = ConnectionRegistry(max_total=3, max_per_client=10)
    for conn in ("kept0", "kept1", "idle"):
        heard(registry, conn, "10.0.0.1")
    waiting = {"kept0", "kept1"}  # their next request sits unread in the socket
    assert registry.admit("new", "10.0.0.2", lambda c: c not in waiting).evicted == "idle"


def test_the_scan_for_a_client_with_several_is_bounded() -> None:
    registry: Registry = ConnectionRegistry(max_total=SCAN + 2, max_per_client=10)
    for i in range(SCAN):
        heard(registry, f"single{i}", f"10.0.{i // 250}.{i % 250}")
    heard(registry, "flood0", "10.9.9.9")
    heard(registry, "flood1", "10.9.9.9")
    assert registry.admit("new", "10.8.8.8").evicted == "single0"  # flood0 is beyond SCAN


def test_busy_connections_never_give_way() -> None:
    registry: Registry = ConnectionRegistry(max_total=2, max_per_client=10)
    for conn, client in (("x", "10.0.0.1"), ("y", "10.0.0.2")):
        heard(registry, conn, client)
        registry.busy(conn)
    refused = registry.admit("z", "10.0.0.3").refused
    assert refused == "the boot service is at its connection limit"
    registry.idle("y")  # y's response is sent: it waits for its next request
    assert registry.admit("z", "10.0.0.3").evicted == "y"


def receiving(registry: Registry, conn: str, client: str) -> None:
    """Admit ``conn``, read it: its head is complete and its declared body is arriving."""
    heard(registry, conn, client)
    registry.receiving(conn)


def test_at_the_total_bound_a_slow_body_of_the_biggest_holder_gives_way() -> None:
    """The slow-body attack: heads complete, bodies at a byte a second, from a few
    addresses. Those connections give way, the biggest holder's least advanced first."""
    registry: Registry = ConnectionRegistry(max_total=8, max_per_client=10)
    sent = {"a0": 5, "a1": 1, "a2": 9, "b0": 0, "b1": 3, "machine": 0}
    for conn in ("a0", "a1", "a2"):
        receiving(registry, conn, "10.0.0.1")
    for conn in ("b0", "b1"):
        receiving(registry, conn, "10.0.0.2")
    receiving(registry, "machine", "10.0.0.9")  # its phone-home body is on its way
    heard(registry, "kept", "10.0.0.8")  # a machine between two requests: its only one
    heard(registry, "fetching", "10.0.0.7")
    registry.busy("fetching")  # sending a kernel
    evicted = []
    for i in range(8):
        evicted.append(registry.admit(f"new{i}", f"10.0.1.{i}", progress=sent.get).evicted)
        registry.busy(f"new{i}")
    assert evicted == [
        "a1",  # the holder of three, its least advanced body
        "b0",  # two each: the least advanced of them
        "a0",
        "kept",  # every client holds one: idle before a body
        "machine",  # then bodies, least advanced first
        "b1",
        "a2",
        None,  # all busy: refused
    ]
    assert registry.total == 8


def test_idle_connections_of_clients_with_several_go_before_any_body() -> None:
    registry: Registry = ConnectionRegistry(max_total=4, max_per_client=10)
    receiving(registry, "a0", "10.0.0.1")
    receiving(registry, "a1", "10.0.0.1")
    heard(registry, "n0", "10.0.0.2")
    heard(registry, "n1", "10.0.0.2")  # behind one NAT, between requests
    assert registry.admit("new", "10.0.0.3").evicted == "n0"
    assert registry.admit("new2", "10.0.0.4").evicted in ("a0", "a1")


def test_a_client_at_its_bound_loses_its_own_slowest_body() -> None:
    registry: Registry = ConnectionRegistry(max_total=100, max_per_client=3)
    for conn in ("a0", "a1", "a2"):
        receiving(registry, conn, "10.0.0.1")
    sent = {"a0": 4, "a1": 2, "a2": 7}
    assert registry.admit("a3", "10.0.0.1", progress=sent.get).evicted == "a1"
    registry.busy("a3")
    for conn in ("a0", "a2"):
        registry.busy(conn)  # their bodies came whole: they are being served
    assert registry.admit("a4", "10.0.0.1").refused == "too many connections from this address"


def test_a_body_with_bytes_waiting_or_an_answer_begun_never_gives_way() -> None:
    registry: Registry = ConnectionRegistry(max_total=2, max_per_client=10)
    receiving(registry, "a0", "10.0.0.1")
    receiving(registry, "a1", "10.0.0.1")
    refused = registry.admit("new", "10.0.0.2", lambda c: False).refused
    assert refused == "the boot service is at its connection limit"
    assert registry.admit("new", "10.0.0.2", lambda c: c == "a1").evicted == "a1"


def test_release_is_idempotent_and_frees_the_client() -> None:
    registry: Registry = ConnectionRegistry(max_total=1, max_per_client=1)
    heard(registry, "a", "10.0.0.1")
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
    assert DEFAULT_LIMITS.connection_budget(1024) == 320  # (1024 - 64) / (2 + 1 in backlog)
    assert DEFAULT_LIMITS.backlog(320) == 320
    assert DEFAULT_LIMITS.connection_budget(16_384) == (16_384 - 64 - 2048) // 2
    assert DEFAULT_LIMITS.connection_budget(1 << 20) == DEFAULT_LIMITS.max_connections
    assert DEFAULT_LIMITS.connection_budget(10) == 1
    assert Limits(max_connections=100).open_files_wanted() == 364
    wanted = DEFAULT_LIMITS.open_files_wanted()
    assert DEFAULT_LIMITS.connection_budget(wanted) == DEFAULT_LIMITS.max_connections
