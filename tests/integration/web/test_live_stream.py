"""/api/v1/changes on a real server: a change the controller writes arrives as one
event, other log entries none; stopping the web face ends open streams, so it stops
at once and logs no error about them."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import httpx
import pytest

from strata.cli.web_face import web_face
from strata.plan import build_plan
from strata.plan.model import to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load
from tests.support.boot_server import free_port

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


def test_changes_stream_and_end_when_the_face_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(LAB))
    store.write_records(
        [RecordWrite(n.name, 0, "declared", plan=to_jsonable(n)) for n in plan.nodes]
    )
    port = free_port()
    face = web_face(store, plan, "127.0.0.1", port)
    face.runner.start()
    base = f"http://127.0.0.1:{port}"
    cursor = httpx.get(f"{base}/api/v1/racks").json()["cursor"]
    for i in range(200):  # log entries that move no server: never sent
        store.record("lab-cp-0", "ipxe-fetched", {"attempt": i})
    moved = {"from": "declared", "to": "registering", "event": "start"}
    store.write_records([RecordWrite("lab-worker-1", 1, "registering", event=("state", moved))])
    seen: list[dict[str, object]] = []
    with httpx.stream("GET", f"{base}/api/v1/changes", params={"after": cursor}, timeout=30) as s:
        lines = s.iter_lines()
        for line in lines:
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                break
        stopper = threading.Thread(target=face.runner.stop)
        stopper.start()
        rest = list(lines)  # ends: the face stopped the stream
        stopper.join(30)
    assert [(c["node"], c["state"]) for c in seen] == [("lab-worker-1", "registering")]
    assert not [line for line in rest if line.startswith("data: ")]
    assert not stopper.is_alive() and not face.runner._thread.is_alive()  # type: ignore[union-attr]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    store.close()
