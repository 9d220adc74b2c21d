"""The web face in a cluster: ClusterAccess asks a Reviewer (the API server's
TokenReview and SubjectAccessReview in production: tests/integration/operator_run/
test_controller_web.py) and keeps its answers a while; Faces serves each Topology's
face under /topologies/NAME/. Here the reviewer is a table of tokens and rights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from strata.store.records import LogEntry, NodeSummary
from strata.web.access import TokenAccess
from strata.web.api import api_routes
from strata.web.app import web_app
from strata.web.faces import Faces
from strata.web.kube_access import ClusterAccess, ReviewCache, User
from strata.web.live import live_routes
from strata.web.metrics import run_registry

LOOPBACK = ("127.0.0.1", 50000)
LOCAL = "http://127.0.0.1:9464"


@dataclass
class Table:
    """Tokens to users, users to the (verb, name) they may; counts what it was asked."""

    users: dict[str, User]
    rights: dict[str, set[tuple[str, str | None]]]
    asked: list[str] = field(default_factory=list)

    def authenticate(self, token: str) -> User | None:
        self.asked.append("who")
        return self.users.get(token)

    def allowed(self, user: User, verb: str, namespace: str, name: str | None) -> bool:
        self.asked.append(verb)
        return namespace == "ns" and (verb, name) in self.rights.get(user.name, set())


def reviewer() -> Table:
    viewer, operator = User("viewer", ("people",)), User("operator")
    return Table(
        {"v-token": viewer, "o-token": operator},
        {
            "viewer": {("get", "lab")},
            "operator": {("get", "lab"), ("update", "lab"), ("list", None)},
        },
    )


def faces(table: Table, clock: list[float]) -> Faces:
    cache = ReviewCache(ttl=10, clock=lambda: clock[0])
    faces = Faces(
        ClusterAccess(table, "ns", None, cache),
        lambda name: ClusterAccess(table, "ns", name, cache),
    )
    app = web_app(run_registry(lambda: []), ClusterAccess(table, "ns", "lab", cache))
    faces.show("lab", app)
    return faces


def test_the_clusters_word_decides_views_and_actions() -> None:
    table, clock = reviewer(), [0.0]
    client = TestClient(faces(table, clock), client=LOOPBACK, base_url=LOCAL)  # no exception
    assert client.get("/topologies/lab/metrics").status_code == 401  # no token, even here
    wrong = client.get("/topologies/lab/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    viewer = {"Authorization": "Bearer v-token"}
    assert client.get("/topologies/lab/metrics", headers=viewer).status_code == 200
    listing = client.get("/api/v1/topologies", headers=viewer)
    assert listing.status_code == 403
    assert listing.json()["detail"] == "viewer may not list topologies.strata.dev in ns"
    operator = {"Authorization": "Bearer o-token"}
    listed = client.get("/api/v1/topologies", headers=operator)
    assert listed.json() == {"items": [{"name": "lab", "url": "/topologies/lab/"}]}


def test_answers_are_kept_a_while_by_the_tokens_hash() -> None:
    table, clock = reviewer(), [0.0]
    client = TestClient(faces(table, clock), client=LOOPBACK, base_url=LOCAL)
    viewer = {"Authorization": "Bearer v-token"}
    for _ in range(5):
        assert client.get("/topologies/lab/metrics", headers=viewer).status_code == 200
    assert table.asked == ["who", "get"]  # once, then kept
    table.rights["viewer"].clear()  # the right taken back: seen once the answer is old
    clock[0] = 9.0
    assert client.get("/topologies/lab/metrics", headers=viewer).status_code == 200
    clock[0] = 10.5
    assert client.get("/topologies/lab/metrics", headers=viewer).status_code == 403
    cache = ReviewCache(ttl=10, size=2, clock=lambda: 0.0)
    for key in "abc":
        cache.get((key,), lambda key=key: key)
    assert cache.get(("a",), lambda: "again") == "again"  # the oldest went first


def face_app_over_nothing(table: Table) -> Starlette:
    """lab's face as `strata controller` makes it, over an empty store."""

    class Empty:
        def summaries(self) -> list[NodeSummary]:
            return []

        def events(self, node: str) -> list[LogEntry]:
            return []

        def recent_events(self, limit: int) -> list[LogEntry]:
            return []

        def events_since(self, after: int, limit: int = 0, kinds: Any = None) -> list[LogEntry]:
            return []

    access = ClusterAccess(table, "ns", "lab")
    routes = [*api_routes(Empty(), "lab", lambda name: None, access), *live_routes(Empty(), access)]
    return web_app(run_registry(lambda: []), access, routes)


def test_each_topology_under_its_own_path() -> None:
    table, clock = reviewer(), [0.0]
    made = faces(table, clock)
    made.show("lab", face_app_over_nothing(table))
    client = TestClient(made, client=LOOPBACK, base_url=LOCAL, follow_redirects=False)
    moved = client.get("/topologies/lab")
    assert moved.status_code == 308 and moved.headers["location"] == "/topologies/lab/"
    page = client.get("/topologies/lab/")  # the dashboard's files hold no data: open
    assert page.status_code == 200 and 'src="static/app.js"' in page.text
    assert client.get("/topologies/lab/static/app.js").status_code == 200
    for path in ("/", "/metrics", "/topologies/", "/topologies//"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["x-content-type-options"] == "nosniff"
    # a name with no face looks like one to a client not allowed to see it (no oracle)
    for name in ("lab", "other"):
        assert client.get(f"/topologies/{name}").status_code == 308
        assert client.get(f"/topologies/{name}/").status_code == 200  # the files: no data
        assert client.get(f"/topologies/{name}/api/v1/summary").status_code == 401
    viewer = {"Authorization": "Bearer v-token"}
    assert client.get("/topologies/lab/api/v1/summary", headers=viewer).status_code == 200
    made.hide("lab")
    assert client.get("/topologies/lab/api/v1/summary", headers=viewer).status_code == 404
    assert client.get("/topologies/other/api/v1/summary", headers=viewer).status_code == 403


def test_the_state_token_still_rules_a_single_run() -> None:
    """``TokenAccess`` (strata apply, serve): the loopback's views open, else the token."""
    app = web_app(run_registry(lambda: []), TokenAccess("t"))
    assert TestClient(app, client=LOOPBACK, base_url=LOCAL).get("/metrics").status_code == 200
    away = TestClient(app, client=("192.0.2.1", 1))
    assert away.get("/metrics").status_code == 401
    assert away.get("/metrics", headers={"Authorization": "Bearer t"}).status_code == 200


def test_an_api_server_that_cannot_answer_lets_nothing_through() -> None:
    class Down:
        def authenticate(self, token: str) -> User | None:
            raise ConnectionError("connection refused")

        def allowed(self, user: User, verb: str, namespace: str, name: str | None) -> bool:
            raise AssertionError("not asked")

    app = web_app(run_registry(lambda: []), ClusterAccess(Down(), "ns", "lab"))
    answer = TestClient(app).get("/metrics", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    assert "connection refused" not in answer.text
