"""The source's boot service honours a move: a real `strata serve` on the state file
(and the boot service in-process on the same file) while `strata pivot` moves it — its
writes are answered 503 with Retry-After from the freeze on, none lands on the source,
the move verifies equal, and once the state has moved the service refuses writes and
`strata serve` stops by itself saying where the plane went, its port free again."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, Grant, Stage, TokenSigner
from strata.pivot import failpoints
from strata.pivot.digest import inventory
from strata.pivot.ends import End
from strata.pivot.engine import Options, Pivot
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.store.fence import WritesRefused
from strata.topology import load
from tests.integration.pivot.conftest import TOPOLOGY, kube_store, provisioned_state
from tests.support.kube_api import ControlPlane, free_port, wait_for

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples/lab/topology.yaml"  # metadata.name lab: the pivot tests' TOPOLOGY
NODE = "lab-cp-0"


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """`strata serve` on a state of 20 provisioned servers: (process, its URL, state)."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 20).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "strata.cli.app", "serve", "-f", str(LAB), "--state", str(state),
        "--listen", f"127.0.0.1:{port}", "--url", url, "--artifacts", str(tmp_path / "mirror"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _answers(url), 60, "strata serve to listen")
        yield process, url, state
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=30)


def _answers(url: str) -> bool | None:
    try:
        return httpx.get(f"{url}/boot.ipxe", timeout=2).status_code == 200 or None
    except httpx.HTTPError:
        return None


def _phone_home(client: httpx.Client | TestClient, state: Path, attempt: int) -> Any:
    """A phone-home of ``attempt`` (each its own: the tally writes a repeat only once)."""
    key = SQLiteStore(state).token_key()
    token = TokenSigner(key).issue(Grant(NODE, attempt, Stage.EVENTS, int(time.time()) + 3600))
    return client.post(f"/events/{NODE}", params={"token": token, "event": "first-boot"})


def _in_process(state: Path) -> TestClient:
    store = SQLiteStore(state)
    content = BootContent(
        build_plan(load(LAB)), "http://10.0.2.2:8080", TokenSigner(store.token_key())
    )
    return TestClient(BootService(content, store, AssetIndex(state.parent / "mirror")).app)


def test_a_boot_service_on_the_source_honours_the_freeze_and_stops_after_the_move(
    serving: tuple[subprocess.Popen[str], str, Path], plane: ControlPlane, namespace: str
) -> None:
    process, url, state = serving
    source, attempts = SQLiteStore(state), itertools.count(1)
    answers: dict[str, list[int]] = {}
    with httpx.Client(base_url=url, timeout=10) as http, _in_process(state) as local:
        assert _phone_home(http, state, next(attempts)).status_code == 204  # recorded
        before = inventory(source, history=False)

        def during(instant: str) -> None:
            served = _phone_home(http, state, next(attempts))
            here = _phone_home(local, state, next(attempts))
            mac = f"52:54:00:99:99:{next(attempts):02x}"  # a machine in no topology
            unknown = http.get("/ipxe", params={"mac": mac})
            answers[instant] = [served.status_code, here.status_code, unknown.status_code]
            assert served.headers.get("retry-after") == here.headers.get("retry-after") == "5"
            assert inventory(source, history=False) == before, instant  # nothing landed
            assert source.unknown_machines() == []

        for instant in ("after:freeze", "after:copy", "after:verify", "journaled:switch"):
            failpoints.ACTIONS[instant] = lambda instant=instant: during(instant)  # type: ignore[misc]
        lines: list[str] = []
        target_end = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
        mover = Pivot(End.sqlite(state, TOPOLOGY), target_end, Options(say=lines.append))
        journal = mover.run()  # verify equal: no rollback
        mover.close()
        assert journal.state == "done", lines
        assert any(line.startswith("verify: equal") for line in lines)
        moved = _phone_home(local, state, next(attempts))  # moved: refused for good
        assert moved.status_code == 503 and "moved" in moved.text
    assert all(codes == [503, 503, 503] for codes in answers.values()), answers
    assert set(answers) == {"after:freeze", "after:copy", "after:verify", "journaled:switch"}
    assert inventory(kube_store(plane, namespace), history=False) == before
    assert inventory(source, history=False) == before
    with pytest.raises(WritesRefused, match="the state moved: the controller in cluster"):
        source.record(NODE, "first-boot", {})
    output, _ = process.communicate(timeout=30)  # it stops by itself
    assert process.returncode == 0, output
    assert (
        "writes refused (503, Retry-After 5 s) while a move holds the state: strata pivot" in output
    )
    assert "the management plane moved: the controller in cluster" in output
    assert _answers(url) is None  # the address is free for the new plane's boot service


def test_the_kubernetes_store_refuses_boot_writes_while_a_move_holds_its_lease(
    plane: ControlPlane, namespace: str
) -> None:
    from strata.provisioning import UnknownMachine
    from strata.store.fence import Sampled

    with plane.client() as api:
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).is_success
    store = kube_store(plane, namespace)
    store.fence = Sampled(store.writer, period=0)  # the lease read before every write
    store.record(NODE, "first-boot", {"attempt": 1})
    frozen = "strata pivot 1a2b: moving to cluster https://x namespace strata"
    store.acquire_writer(frozen, 60)
    for write in (
        lambda: store.record(NODE, "installed", {"attempt": 1}),
        lambda: store.consume(NODE, 1, Stage.LIVE),
        lambda: store.record_unknown(UnknownMachine("52:54:00:99:99:01", None, None, None, None)),
    ):
        with pytest.raises(WritesRefused, match="a move holds the state: strata pivot 1a2b"):
            write()
    store.release_writer(frozen)
    store.record(NODE, "installed", {"attempt": 1})  # the freeze given back: written
    store.acquire_writer(
        "the controller in cluster https://x (moved there by strata pivot 1a2b)", 60
    )
    with pytest.raises(WritesRefused, match="the state moved") as refused:
        store.record(NODE, "node-ready", {})
    assert refused.value.moved
    assert [e.kind for e in store.events(NODE)] == ["first-boot", "installed"]
    assert store.unknown_machines() == []
