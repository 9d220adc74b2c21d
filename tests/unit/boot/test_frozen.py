"""The boot service while a move holds its state (a real SQLite state): writes answered
503 with Retry-After, nothing written; the same request once the freeze is given back
(a rollback) is written — a refused write is no repeat's first; an Ignition config
whose token was consumed before the freeze is still served."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, Grant, Stage, TokenSigner
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
FROZEN = "strata pivot 1a2b: moving to cluster https://x namespace strata"


def _service(tmp_path: Path) -> tuple[TestClient, SQLiteStore, TokenSigner]:
    store = SQLiteStore(tmp_path / "strata.db")
    signer = TokenSigner(store.token_key())
    content = BootContent(build_plan(load(ROOT / "examples/lab/topology.yaml")), "http://b", signer)
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"))
    return TestClient(service.app), store, signer


def _token(signer: TokenSigner, stage: Stage) -> str:
    return signer.issue(Grant("lab-cp-0", 1, stage, int(time.time()) + 3600))


def test_a_refused_phone_home_is_written_when_asked_again_after_the_freeze(
    tmp_path: Path,
) -> None:
    client, store, signer = _service(tmp_path)
    params = {"token": _token(signer, Stage.EVENTS), "event": "installed"}
    with client:
        store.acquire_writer(FROZEN, 600)
        refused = client.post("/events/lab-cp-0", params=params)
        assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
        assert "a move is in progress" in refused.text
        unknown = client.get("/ipxe", params={"mac": "52:54:00:99:99:01"})
        assert unknown.status_code == 503 and store.unknown_machines() == []
        assert store.events("lab-cp-0") == []
        store.release_writer(FROZEN)  # rolled back: the source in charge again
        assert client.post("/events/lab-cp-0", params=params).status_code == 204
        assert client.get("/ipxe", params={"mac": "52:54:00:99:99:01"}).status_code == 200
    assert [e.kind for e in store.events("lab-cp-0")] == ["installed"]
    assert [m["mac"] for m in store.unknown_machines()] == ["52:54:00:99:99:01"]


def test_after_the_move_every_write_is_refused_for_good(tmp_path: Path) -> None:
    client, store, signer = _service(tmp_path)
    store.acquire_writer(
        "the controller in cluster https://x (moved there by strata pivot 1a2b)", 600
    )
    with client:
        answer = client.post(
            "/events/lab-cp-0", params={"token": _token(signer, Stage.EVENTS), "event": "installed"}
        )
        assert answer.status_code == 503 and "moved" in answer.text
        assert client.get("/boot.ipxe").status_code == 200  # reads are served
    assert store.events("lab-cp-0") == []


class _FrozenAfterConsume(SQLiteStore):
    """A real state whose move freezes it right after a token is consumed (the instant
    between the token's use and the config's log entry)."""

    def consume(self, node: str, attempt: int, stage: Stage) -> bool:
        used = super().consume(node, attempt, stage)
        self.acquire_writer(FROZEN, 600)
        return used


def test_a_config_whose_token_was_used_before_the_freeze_is_still_served(
    tmp_path: Path,
) -> None:
    store = _FrozenAfterConsume(tmp_path / "strata.db")
    signer = TokenSigner(store.token_key())
    content = BootContent(build_plan(load(ROOT / "examples/lab/topology.yaml")), "http://b", signer)
    attempt = store.begin_attempt("lab-cp-0", lifetime=3600)
    token = signer.issue(Grant("lab-cp-0", attempt.number, Stage.LIVE, attempt.expires))
    with TestClient(BootService(content, store, AssetIndex(tmp_path / "mirror")).app) as client:
        answer = client.get("/ignition/lab-cp-0", params={"token": token})
    assert answer.status_code == 200 and answer.json()["ignition"]["version"]
    assert [e.kind for e in store.events("lab-cp-0")] == []  # its entry refused, logged
    store.release_writer(FROZEN)
    assert store.consume("lab-cp-0", attempt.number, Stage.LIVE) is False  # used (copied)
