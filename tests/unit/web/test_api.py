"""The REST API, /api/v1, as `strata apply --web-listen` wires it (strata.cli.web_face)
over a real SQLite store: each answer validates against the OpenAPI document made from
the same models, the document against the OpenAPI 3.1 schema; access as docs/web.md
says; no secret in any answer."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from strata.cli.web_face import ACTIONS, web_face
from strata.plan import build_plan
from strata.plan.model import to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load
from strata.web import api
from strata.web.access import web_token

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
LOOPBACK, ELSEWHERE = ("127.0.0.1", 50000), ("192.0.2.7", 50000)
LOCAL = "http://127.0.0.1:9464"  # the loopback, as a browser on this host names it


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Starlette, SQLiteStore, dict[str, Any]]]:
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(LAB))
    store.write_records(
        [RecordWrite(n.name, 0, "declared", plan=to_jsonable(n)) for n in plan.nodes]
    )
    store.write_records(
        [RecordWrite("lab-worker-0", 1, "failed", step="inspecting", reason="BMC said no")]
    )
    face = web_face(store, plan, "127.0.0.1", 0)
    app = face.runner.server.config.app
    doc = TestClient(app, client=LOOPBACK, base_url=LOCAL).get("/api/v1/openapi.json").json()
    yield app, store, doc
    store.close()


def answer(app: Starlette, path: str, doc: dict[str, Any], model: str, **params: Any) -> Any:
    """GET ``path`` from the loopback; its JSON, checked against ``model``'s schema."""
    got = TestClient(app, client=LOOPBACK, base_url=LOCAL).get(path, params=params)
    assert got.status_code == (404 if model == "ApiError" else 200), got.text
    Draft202012Validator({**doc, "$ref": f"#/components/schemas/{model}"}).validate(got.json())
    assert got.headers["x-content-type-options"] == "nosniff"
    return got.json()


def test_the_document_is_openapi_3_1(world: tuple[Starlette, SQLiteStore, dict[str, Any]]) -> None:
    """… and it names every route of the API with its methods, and no other."""
    app, _, doc = world
    validate(doc)
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/v1/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert served == {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert set(ACTIONS) == set(api.ACTIONS)  # every action the API asks is one the face does


def test_the_summary_and_the_layers_health(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    app, _, doc = world
    summary = answer(app, "/api/v1/summary", doc, "TopologySummary")
    assert summary["topology"] == "lab" and summary["servers"] == 3
    assert summary["cluster"] is None  # a state file's: the page's commands name no cluster
    assert summary["states"] == {"declared": 2, "failed": 1}
    assert summary["layers"] == [
        {
            "name": "mgmt", "servers": 3, "joined": 0, "failed": 1, "states": summary["states"],
            "roles": [
                {"role": "control-plane", "servers": 1, "joined": 0},
                {"role": "worker", "servers": 2, "joined": 0},
            ],
        }
    ]  # fmt: skip


def test_servers_are_filtered_and_paged(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    app, _, doc = world
    names, after = [], None
    while True:
        page = answer(app, "/api/v1/servers", doc, "ServerPage", limit=2,
                      **({"after": after} if after else {}))  # fmt: skip
        assert page["total"] == 3
        names += [s["name"] for s in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert names == ["lab-cp-0", "lab-worker-0", "lab-worker-1"]
    failed = answer(app, "/api/v1/servers", doc, "ServerPage", state="failed", rack="lab")
    assert [(s["name"], s["reason"]) for s in failed["items"]] == [("lab-worker-0", "BMC said no")]
    client = TestClient(app, client=LOOPBACK, base_url=LOCAL)
    for bad in ({"colour": "red"}, {"limit": "0"}, {"limit": "1001"}, {"limit": "x"}):
        refused = client.get("/api/v1/servers", params=bad)
        assert refused.status_code == 400 and refused.json()["error"] == "bad-request", bad
    for path in ("/api/v1/summary", "/api/v1/racks", "/api/v1/servers/lab-cp-0/events"):
        assert client.get(path, params={"colour": "red"}).status_code == 400, path


def test_one_server_its_plan_and_its_events(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    app, _, doc = world
    server = answer(app, "/api/v1/servers/lab-cp-0", doc, "ServerDetail")
    assert server["plan"]["bmc_credentials"] == "lab-bmc" and server["plan"]["layer"] == "mgmt"
    events = answer(app, "/api/v1/servers/lab-worker-0/events", doc, "ServerEvents")
    assert events["name"] == "lab-worker-0"
    missing = answer(app, "/api/v1/servers/nobody", doc, "ApiError")
    assert missing == {"error": "not-found", "detail": "no server nobody in lab"}


def test_off_the_loopback_the_token_and_for_an_action_always(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    app, store, _ = world
    token = web_token(store.token_key())
    bearer = {"Authorization": f"Bearer {token}"}
    away = TestClient(app, client=ELSEWHERE)
    for path in ("/api/v1/summary", "/api/v1/servers/lab-cp-0", "/metrics"):
        refused = away.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "lab-cp-0" not in refused.text and "strata_" not in refused.text
        assert away.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert away.get(path, headers=bearer).status_code == 200, path
    here = TestClient(app, client=LOOPBACK, base_url=LOCAL)
    assert here.post("/api/v1/servers/lab-worker-0/retry").status_code == 401
    assert here.get("/api/v1/servers/lab-worker-0/retry").status_code == 405
    not_failed = here.post("/api/v1/servers/lab-cp-0/retry", headers=bearer)
    assert not_failed.status_code == 409 and "declared" in not_failed.json()["detail"]
    assert here.post("/api/v1/servers/nobody/retry", headers=bearer).status_code == 404
    done = here.post("/api/v1/servers/lab-worker-0/retry", headers=bearer)
    assert done.status_code == 200 and done.json()["nodes"] == ["lab-worker-0"]
    assert store.records()["lab-worker-0"].state == "registering"  # as `strata retry` does


def test_maintenance_on_and_off_through_the_api(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    """PUT …/maintenance (with a note) and DELETE it, as `strata maintenance on|off`; the
    token always; a body that is not a MaintenanceRequest is a 400 and changes nothing."""
    app, store, doc = world
    bearer = {"Authorization": f"Bearer {web_token(store.token_key())}"}
    here = TestClient(app, client=LOOPBACK, base_url=LOCAL)
    path = "/api/v1/servers/lab-cp-0/maintenance"
    assert here.put(path).status_code == 401
    assert here.delete(path).status_code == 401
    bad_bodies = ['{"reason": 7}', '{"why": "x"}', "not json", '{"reason": "' + "x" * 5000 + '"}']
    bad_bodies += ['{"reason": "\\u001b[2J"}', '{"reason": ""}']  # a terminal's escape; empty
    bad_bodies += ['{"reason": "a\\u200db"}']  # not printable (a zero-width joiner): as the CLI
    for bad in bad_bodies:
        refused = here.put(path, headers=bearer, content=bad)
        assert refused.status_code == 400, bad
        Draft202012Validator({**doc, "$ref": "#/components/schemas/ApiError"}).validate(
            refused.json()
        )
    assert store.records()["lab-cp-0"].state == "declared"
    done = here.put(path, headers=bearer, json={"reason": "new PSU"})
    assert done.status_code == 200, done.text
    Draft202012Validator({**doc, "$ref": "#/components/schemas/ActionDone"}).validate(done.json())
    record = store.records()["lab-cp-0"]
    assert (record.state, record.step, record.reason) == ("maintenance", "declared", "new PSU")
    again = here.put(path, headers=bearer)
    assert again.status_code == 409 and "already in maintenance" in again.json()["detail"]
    assert here.delete(path, headers=bearer).status_code == 200
    assert store.records()["lab-cp-0"].state == "declared"  # back where it rested
    assert here.delete(path, headers=bearer).status_code == 409
    assert here.put("/api/v1/servers/nobody/maintenance", headers=bearer).status_code == 404


def test_no_secret_in_any_answer(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store, _ = world
    key = store.token_key()
    secrets = {web_token(key), key.hex(), base64.b64encode(key).decode(), "lab-bmc-password"}
    here = TestClient(app, client=LOOPBACK, base_url=LOCAL)
    paths = ["/api/v1/summary", "/api/v1/servers", "/metrics", "/api/v1/openapi.json"]
    paths += [f"/api/v1/servers/{n}{tail}" for n in ("lab-cp-0", "lab-worker-0")
              for tail in ("", "/events")]  # fmt: skip
    for path in paths:
        text = here.get(path).text
        assert not [s for s in secrets if s in text], path


def test_the_loopback_is_the_socket_s_and_names_itself_so(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    """No X-Forwarded-For opens a view to a client elsewhere; a page of another site
    whose name resolves to 127.0.0.1 (DNS rebinding) names its own host: refused."""
    app = world[0]
    forged = TestClient(app, client=ELSEWHERE, base_url=LOCAL)
    assert (
        forged.get("/api/v1/summary", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 401
    )
    rebound = TestClient(app, client=LOOPBACK, base_url="http://attacker.example:9464")
    assert rebound.get("/api/v1/servers/lab-cp-0").status_code == 401
    for host in ("http://localhost:9464", "http://[::1]:9464", LOCAL):
        assert (
            TestClient(app, client=LOOPBACK, base_url=host).get("/api/v1/summary").status_code
            == 200
        )


def test_every_answer_carries_the_strict_headers(
    world: tuple[Starlette, SQLiteStore, dict[str, Any]],
) -> None:
    here = TestClient(world[0], client=LOOPBACK, base_url=LOCAL)
    for answer in (
        here.get("/nowhere"),
        here.post("/metrics"),
        here.get("/api/v1/summary"),
        here.get("/"),
        here.get("/api/v1/changes", params={"after": "9" * 25}),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url
        assert answer.headers["cache-control"] == "no-store", answer.url
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], answer.url
    assert here.get("/api/v1/changes", params={"after": "9" * 5000}).status_code == 400
