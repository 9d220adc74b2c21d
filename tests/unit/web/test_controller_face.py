"""The in-cluster face as `strata controller` assembles it (strata.cli.controller_face)
over a real SQLite store and a real server: a face is made again only when its plan
changes; an open stream of changes ends when its Topology's object goes and when the
client's right to see is taken back; metrics outlive a new plan, not the object."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from strata.cli.controller_face import ControllerFace
from strata.plan import build_plan
from strata.plan.model import to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load
from strata.web.kube_access import ReviewCache
from tests.support.boot_server import free_port
from tests.unit.web.test_kube_access import reviewer

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"
VIEWER = {"Authorization": "Bearer v-token"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ControllerFace, SQLiteStore, str]]:
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(LAB))
    store.write_records(
        [RecordWrite(n.name, 0, "declared", plan=to_jsonable(n)) for n in plan.nodes]
    )
    port = free_port()
    face = ControllerFace(
        reviewer(), "ns", "strata controller a", "127.0.0.1", port, ReviewCache(ttl=0.5)
    )
    face.show("lab", store, plan)
    face.runner.start()
    try:
        yield face, store, f"http://127.0.0.1:{port}/topologies/lab/api/v1/changes"
    finally:
        face.stop()
        store.close()


def _stream_ends(url: str, within: float, do: Callable[[], None]) -> float:
    """Seconds the stream at ``url`` stayed open after ``do`` began (0.5 s after the
    stream was asked for); a stream still open ``within`` seconds after it fails the
    test (never hangs it)."""
    ended: list[float] = []
    began: list[float] = []
    client = httpx.Client(timeout=within + 30)

    def read() -> None:
        with client.stream("GET", url, headers=VIEWER) as answer:
            assert answer.status_code == 200
            for _ in answer.iter_lines():
                pass
        ended.append(time.monotonic())

    def act() -> None:
        time.sleep(0.5)
        began.append(time.monotonic())
        do()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    threading.Thread(target=act, daemon=True).start()
    reader.join(within)
    client.close()  # a stream still open: cut
    assert ended and began, f"the stream was still open after {within} s"
    return ended[0] - began[0]


def test_a_stream_ends_when_its_topology_goes(
    served: tuple[ControllerFace, SQLiteStore, str],
) -> None:
    face, _, url = served
    assert _stream_ends(url, 5, lambda: face.hide("lab")) < 3


def test_a_stream_ends_when_the_right_to_see_is_taken_back(
    served: tuple[ControllerFace, SQLiteStore, str],
) -> None:
    face, _, url = served
    revoke = face.reviewer.rights["viewer"].clear  # type: ignore[attr-defined]
    assert _stream_ends(url, 20, revoke) < 10  # asked again every 5 s, answers kept 0.5 s


def test_a_face_is_made_again_only_for_another_plan(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "strata.db")
    face = ControllerFace(reviewer(), "ns", "strata controller a", "127.0.0.1", free_port())
    made = []
    face.faces.show = lambda name, app: made.append(name)  # type: ignore[method-assign]
    seen = face.show("lab", store, build_plan(load(LAB)))
    face.show("lab", store, build_plan(load(LAB)))  # a resync: an equal plan
    assert made == ["lab"]
    metrics = face.metrics("lab")
    seen.lag("event", 0.1)
    face.hide("lab")
    assert face.metrics("lab") is None
    face.show("lab", store, build_plan(load(LAB)))
    assert face.metrics("lab") is not metrics  # a new object: new counts
    store.close()
