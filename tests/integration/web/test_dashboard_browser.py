"""The dashboard in a real browser (Debian's headless chromium over the DevTools
Protocol) against `strata apply`'s web face (strata.cli.web_face) on a real server and
a real SQLite store: the rack view colours each server by its state and follows a
change the controller writes; a failed server's page shows its timeline and the
command to retry it. Screenshots go to build/test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.cli.web_face import face_app, web_face
from strata.controller import Event
from strata.controller.requests import request
from strata.plan import build_plan
from strata.plan.model import to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load
from strata.web.app import WebRunner
from strata.web.faces import Faces
from strata.web.kube_access import ClusterAccess, User
from strata.web.metrics import run_registry
from tests.support.boot_server import free_port
from tests.support.browser import Browser

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
ARTIFACTS = ROOT / "build" / "test-artifacts"
SLOTS = (
    "Object.fromEntries([...document.querySelectorAll('.slot')]"
    ".map(s => [s.dataset.name, s.className]))"
)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Browser, SQLiteStore, str]]:
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(LAB))
    store.write_records(
        [RecordWrite(n.name, 0, "declared", plan=to_jsonable(n), event=("declared", {}))
         for n in plan.nodes]
    )  # fmt: skip
    failed = {"from": "declared", "to": "failed", "event": "bmc-unreachable"}
    store.write_records(
        [RecordWrite("lab-worker-0", 1, "failed", step="registering",
                     reason="BMC unreachable: connection refused", event=("state", failed))]
    )  # fmt: skip
    port = free_port()
    face = web_face(store, plan, "127.0.0.1", port)
    face.runner.start()
    browser = Browser(tmp_path)
    try:
        yield browser, store, f"http://127.0.0.1:{port}"
    finally:
        browser.close()
        face.runner.stop()
        store.close()


def test_the_rack_view_follows_the_servers(running: tuple[Browser, SQLiteStore, str]) -> None:
    browser, store, url = running
    browser.open(url + "/")
    browser.wait_for("window.strata && window.strata.painted", "the rack view")
    assert browser.evaluate(SLOTS) == {
        "lab-cp-0": "slot s-declared",
        "lab-worker-0": "slot s-failed",
        "lab-worker-1": "slot s-declared",
    }
    assert "Strata · lab" in browser.wait_for(
        "document.title.length && document.getElementById('title').textContent", "the title"
    )
    moved = {"from": "declared", "to": "registering", "event": "start"}
    store.write_records([RecordWrite("lab-cp-0", 1, "registering", event=("state", moved))])
    browser.wait_for(
        "document.querySelector('[data-name=\"lab-cp-0\"]').className === 'slot s-registering'",
        "lab-cp-0's change",
    )
    updates = browser.evaluate("window.strata.updates")
    assert [(u["node"], u["state"]) for u in updates] == [("lab-cp-0", "registering")]
    counts = browser.evaluate("document.getElementById('counts').textContent")
    assert "registering 1" in counts and "failed 1" in counts and "3 servers" in counts
    browser.screenshot(ARTIFACTS / "rack-view.png")  # the README's: the lab demo's own
    # (tests/integration/lab/test_lab_end_to_end.py, with STRATA_UPDATE_DOCS=1)


def test_a_failed_servers_page_says_why_and_what_to_run(
    running: tuple[Browser, SQLiteStore, str],
) -> None:
    browser, _, url = running
    browser.open(url + "/#/server/lab-worker-0")
    browser.wait_for("document.querySelectorAll('#timeline li').length >= 2", "the timeline")
    failure = browser.evaluate("document.getElementById('server-failure').textContent")
    assert "BMC unreachable: connection refused" in failure
    assert "strata retry lab-worker-0" in failure
    timeline = browser.evaluate(
        "[...document.querySelectorAll('#timeline li')].map(li => li.textContent)"
    )
    assert any("declared → failed (bmc-unreachable)" in line for line in timeline), timeline
    plan = browser.evaluate("document.getElementById('server-plan').textContent")
    assert "redfish://192.168.100.12" in plan
    browser.screenshot(ARTIFACTS / "server-page.png")
    browser.evaluate("location.hash = '#/layers'")
    row = browser.wait_for(
        "document.querySelector('#layers tbody tr') && "
        "document.querySelector('#layers tbody tr').textContent",
        "the layer view",
    )
    assert row.startswith("mgmt3") and "failed 1" in row
    assert "control-plane 0/1 joined, worker 0/2 joined" in row


def test_a_topologys_face_under_its_path_with_a_cluster_token(tmp_path: Path) -> None:
    """The in-cluster face (strata.web.faces): the same page at /topologies/lab/, its
    links relative, every request carrying the token given in the URL's fragment (the
    cluster's auth lets nothing through without it, the loopback included); a server in
    maintenance says so, with the command that ends it."""
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(LAB))
    store.write_records(
        [
            RecordWrite(n.name, 0, "declared", plan=to_jsonable(n), event=("declared", {}))
            for n in plan.nodes
        ]
    )
    request(store, ["lab-worker-1"], Event.MAINTENANCE_ON, reason="new PSU")
    reviewer = _OneToken()
    faces = Faces(
        ClusterAccess(reviewer, "ns", None), lambda name: ClusterAccess(reviewer, "ns", name)
    )
    stopping = threading.Event()
    app = face_app(
        store,
        plan,
        run_registry(store.summaries),
        ClusterAccess(reviewer, "ns", "lab"),
        stopping,
        namespace="ns",
    )
    faces.show("lab", app)
    port = free_port()
    runner = WebRunner(faces, "127.0.0.1", port, stopping)
    runner.start()
    browser = Browser(tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/topologies/lab/"
        browser.open(url + "#/server/lab-worker-1?token=" + _OneToken.TOKEN)
        browser.wait_for("document.querySelectorAll('#timeline li').length >= 2", "the timeline")
        said = browser.evaluate("document.getElementById('server-failure').textContent")
        assert "in maintenance since declared: new PSU" in said
        assert "strata maintenance off lab-worker-1 --kubeconfig FILE -n ns -t lab" in said
        browser.evaluate("location.hash = '#/?token=" + _OneToken.TOKEN + "'")
        browser.wait_for("window.strata && window.strata.painted", "the rack view")
        slots = browser.evaluate(SLOTS)
        assert slots["lab-worker-1"] == "slot s-maintenance"
        browser.screenshot(ARTIFACTS / "cluster-face.png")
        assert reviewer.asked and set(reviewer.asked) == {_OneToken.TOKEN}
    finally:
        browser.close()
        runner.stop()
        store.close()


class _OneToken:
    """A cluster that knows one token, allowed everything on lab."""

    TOKEN = "a-cluster-token"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def authenticate(self, token: str) -> User | None:
        self.asked.append(token)
        return User("person") if token == self.TOKEN else None

    def allowed(self, user: User, verb: str, namespace: str, name: str | None) -> bool:
        return name == "lab"
