"""The boot service against bad input: malformed and oversized bodies get 400/413, and
what unauthenticated clients make it write is bounded and still visible."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, Grant, Stage, TokenSigner
from strata.boot.limits import Limits
from strata.boot.tally import OVER, WINDOW_SECONDS
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
BASE = "http://10.0.2.2:8080"
CP_MAC = "52:54:00:10:00:01"  # lab-cp-0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


World = tuple[TestClient, SQLiteStore, Clock, BootService]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = SQLiteStore(tmp_path / "strata.db")
    clock = Clock()
    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    content = BootContent(plan, BASE, TokenSigner(store.token_key()))
    limits = Limits(max_body_bytes=16 * 1024)
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"), clock, limits)
    with TestClient(service.app, raise_server_exceptions=True) as client:
        yield client, store, clock, service


def events_url(client: TestClient, store: SQLiteStore, clock: Clock) -> str:
    """lab-cp-0's phone-home URL (without ``&event=``), as its live config names it."""
    store.begin_attempt("lab-cp-0", lifetime=3600, now=clock.now)
    script = client.get("/ipxe", params={"mac": CP_MAC}).text
    live = re.search(r"ignition\.config\.url=(\S+)", script)
    assert live is not None
    config = client.get(live.group(1).removeprefix(BASE)).text
    found = re.search(r'(/events/lab-cp-0\?token=[^"&\\]+)', config)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"event": ["installed"]}', "event must be a string"),
        (b'{"event": {"installed": true}}', "event must be a string"),
        (b'{"event": 7}', "event must be a string"),
        (b"[" * 16_000, "not JSON"),  # nesting deeper than the parser goes
        (b'{"a":' * 2500 + b"1" + b"}" * 2500, "not JSON"),
        (b'\xff\xfe{"event": "installed"}', "not JSON"),
        (b'{"event": "installed"', "not JSON"),
        (b'["installed"]', "must be a JSON object"),
        (b'"installed"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"{}", "event must be one of"),
        (b'{"event": "rm -rf"}', "event must be one of"),
    ],
)
def test_a_malformed_phone_home_body_is_a_400(world: World, body: bytes, why: str) -> None:
    client, store, clock, _ = world
    answer = client.post(events_url(client, store, clock), content=body)
    assert answer.status_code == 400
    assert why in answer.text
    assert "installed" not in [e.kind for e in store.events("lab-cp-0")]


def test_a_body_over_the_limit_is_a_413_declared_or_streamed(world: World) -> None:
    client, store, clock, _ = world
    url = events_url(client, store, clock)
    declared = client.post(url, content=b'{"event": "' + b"x" * 20_000 + b'"}')
    assert declared.status_code == 413
    assert declared.headers["connection"] == "close"
    streamed = client.post(url, content=iter([b"x" * 10_000, b"x" * 10_000]))  # chunked
    assert streamed.status_code == 413
    assert client.post(url, json={"event": "installed"}).status_code == 204


def test_forged_tokens_make_two_rows_a_minute_that_count_them_all(world: World) -> None:
    client, store, clock, _ = world
    forged = TokenSigner(b"not strata's key, but long enough").issue(
        Grant("lab-cp-0", 1, Stage.LIVE, 2**31)
    )
    for _ in range(1_000):  # 10,000 against the real server: tests/integration/boot
        assert client.get(f"/ignition/lab-cp-0?token={forged}").status_code == 403
    [first] = store.events("lab-cp-0")
    assert first.kind == "token-rejected"
    assert first.detail["source"] == "testclient"  # from where
    clock.now += WINDOW_SECONDS
    client.get("/boot.ipxe")
    client.get(f"/ignition/lab-cp-0?token={forged}")  # a new window: written at once
    first, summary, again = store.events("lab-cp-0")
    assert (summary.kind, summary.detail["event"]) == ("repeated", "token-rejected")
    assert summary.detail["repeats"] == 999
    assert summary.detail["sources"] == {"testclient": 999}
    assert summary.detail["reason"] == first.detail["reason"]
    assert again.kind == "token-rejected"


def test_invented_macs_fill_a_bounded_table_and_the_rest_are_counted(world: World) -> None:
    client, store, _, service = world
    for i in range(500):
        client.get("/ipxe", params={"mac": f"02:00:00:00:{i // 256:02x}:{i % 256:02x}"})
    assert len(store.unknown_machines()) == 16  # one address's share of the tracked keys
    service.flush(everything=True)  # as when the service stops: open windows are summarized
    [over] = store.events(OVER)
    assert (over.kind, over.detail["event"], over.detail["repeats"]) == (
        "repeated",
        "unknown-machine",
        484,
    )


def test_one_unknown_machine_retrying_is_one_row_and_no_summary(world: World) -> None:
    client, store, clock, service = world
    for _ in range(5):
        client.get("/ipxe", params={"mac": "02:00:00:00:00:01"})
        clock.now += 35  # it sleeps 30 s, then its firmware tries again
    service.flush(everything=True)
    [machine] = store.unknown_machines()
    assert machine["boots"] == 3  # the first sighting of each minute
    assert store.events(OVER) == []


def test_repeated_script_fetches_are_one_row_for_the_controller(world: World) -> None:
    client, store, clock, _ = world
    store.begin_attempt("lab-cp-0", lifetime=3600, now=clock.now)
    for _ in range(100):
        assert "install flatcar" in client.get("/ipxe", params={"mac": CP_MAC}).text
    [fetched] = store.events("lab-cp-0")
    assert (fetched.kind, fetched.detail["attempt"]) == ("ipxe-fetched", 1)


def test_only_the_phone_home_reads_a_body_and_any_other_closes_its_connection(
    world: World,
) -> None:
    """A declared body no route read when the answer starts would be parsed as the next
    request: the answer says ``connection: close`` (strata.boot.body)."""
    client, store, clock, _ = world
    for method, path in (("GET", "/boot.ipxe"), ("HEAD", "/boot.ipxe"), ("POST", "/ipxe")):
        answer = client.request(method, path, content=b"x" * 100)
        assert answer.headers["connection"] == "close", (method, path)
    assert "connection" not in client.get("/boot.ipxe").headers  # no body: kept alive
    url = events_url(client, store, clock)
    assert "connection" not in client.post(url, json={"event": "installed"}).headers  # read
    refused = client.post(url.split("?")[0] + "?token=forged", json={"event": "installed"})
    assert refused.status_code == 403 and refused.headers["connection"] == "close"
