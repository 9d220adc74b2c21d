"""What the pivot tests share: real control planes (``tests/support/kube_api.py``), a
SQLite state of N provisioned servers built through the store's own API (records
through each state with their log entries, an attempt begun, its tokens used and
ended by the record that says provisioned, the boot service's entries, a layer's
cluster secrets, the controller's cursor), running ``strata pivot`` as a process,
and a snapshot of everything a move could change on one end (``snapshot``).
"""

from __future__ import annotations

import datetime
import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.pivot.digest import inventory
from strata.provisioning import Stage
from strata.store import KubeStore, MovableStore, RecordWrite, SQLiteStore
from strata.store.clusters import StoredCluster
from tests.support.failpoints import no_failpoint_actions  # noqa: F401 (autouse here)
from tests.support.kube_api import ControlPlane, control_plane, wait_for
from tests.support.layer_state import LAB

TOPOLOGY = "lab"
STATES = ("declared", "registering", "inspecting", "ready", "provisioning", "booting")
_names = itertools.count()


@pytest.fixture(scope="package")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("pivot-a")) as running:
        yield running


@pytest.fixture(scope="package")
def other_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("pivot-b")) as running:
        yield running


@pytest.fixture
def namespace() -> str:
    """A namespace of its own per test (the move creates it)."""
    return f"pivot-{next(_names)}"


def provisioned_state(path: Path, count: int) -> SQLiteStore:
    """A state file of ``count`` servers taken to provisioned through the store's API."""
    store = SQLiteStore(path)
    names = [f"n{i:04d}" for i in range(count)]
    plans = {
        n: {"layer": "mgmt", "region": "eu", "zone": "z1", "rack": f"r{i % 4}"}
        for i, n in enumerate(names)
    }
    for version, state in enumerate(STATES):
        store.write_records(
            [
                RecordWrite(
                    n,
                    version,
                    state,
                    plan=plans[n] if version == 0 else None,
                    event=("state", {"to": state}),
                )
                for n in names
            ]
        )
        if state == "provisioning":
            for n in names:
                store.begin_attempt(n, lifetime=3600)
    for n in names:
        assert store.consume(n, 1, Stage.LIVE) and store.consume(n, 1, Stage.FINAL)
    store.record_many(
        [(n, kind, {"attempt": 1}) for n in names for kind in ("ipxe-fetched", "installed")]
    )
    last = len(STATES)
    store.write_records(
        [
            RecordWrite(
                n,
                last,
                "provisioned",
                marks={"attempt": 1},
                event=("state", {"to": "provisioned"}),
                end_attempt=True,
            )
            for n in names
        ]
    )
    row = StoredCluster(
        "mgmt", '{"ca": "-----BEGIN-----"}', "abcdef.0123456789abcdef", 2e9, "cd" * 32, 1.7e9, 1.7e9
    )
    store.keep_cluster(row)
    store.set_cursor("controller", store.events_since(0, 10**9)[-1].id)
    return store


def kube_store(plane: ControlPlane, namespace: str) -> KubeStore:
    return KubeStore.from_kubeconfig(plane.admin_kubeconfig(), namespace, TOPOLOGY)


def snapshot(store: MovableStore) -> dict[str, Any]:
    """Everything of a store a move writes: its inventory, lease and journal note."""
    seen = inventory(store, history=isinstance(store, KubeStore))
    return {"inventory": seen.__dict__, "writer": store.writer(), "note": store.note("pivot")}


def run_pivot(
    *args: str, failpoint: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("STRATA_PIVOT_FAILPOINT", None)
    if failpoint:
        env["STRATA_PIVOT_FAILPOINT"] = failpoint
    # no controller started at resume unless ``args`` say (a later --controller wins)
    command = [sys.executable, "-m", "strata.cli.app", "pivot", "-t", TOPOLOGY]
    command += ["--controller", "none", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    for name in ("plane", "other_plane"):
        running = getattr(item, "funcargs", {}).get(name)
        if report.failed and isinstance(running, ControlPlane):
            report.sections.append((f"{name} logs", running.logs()))


class LeaseWatch:
    """Samples both ends every ``period`` seconds from a thread: who holds each writer
    lease, and whether the target's journal says it is in charge. ``in_charge``: the
    ends a controller could act on at that sample (the source: its lease free or held
    by no move; the target: its lease free or held by no move, once the move is done)."""

    def __init__(self, source: MovableStore, target: KubeStore, period: float = 0.03) -> None:
        import threading

        self.source, self.target, self.period = source, target, period
        self.samples: list[tuple[str | None, str | None, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LeaseWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        import json

        from strata.store import KubeStoreError

        while not self._stop.is_set():
            try:
                source = self.source.writer()
                target = self.target.writer()
                note = self.target.note("pivot")
            except KubeStoreError:  # the namespace is not there yet
                source, target, note = self.source.writer(), None, None
            state = json.loads(note)["state"] if note else "none"
            self.samples.append((source and source[0], target and target[0], state))
            self._stop.wait(self.period)

    def two_writers(self) -> list[tuple[str | None, str | None, str]]:
        def free(holder: str | None) -> bool:
            return holder is None or not (
                holder.startswith("strata pivot ") or holder.startswith("the controller in ")
            )

        return [s for s in self.samples if free(s[0]) and free(s[1]) and s[2] == "done"]


def to_cluster(state: Path, plane: ControlPlane, namespace: str) -> tuple[str, ...]:
    """``strata pivot``'s arguments moving the SQLite ``state`` into ``namespace`` of
    ``plane`` (its admin kubeconfig)."""
    kubeconfig = str(plane.admin_kubeconfig())
    return ("--state", str(state), "--to-kubeconfig", kubeconfig, "--to-namespace", namespace)


def pivot_to_cluster(
    state: Path, plane: ControlPlane, namespace: str, *args: str, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``strata pivot`` with ``to_cluster``'s arguments, then ``args``; ``kwargs`` as
    ``run_pivot``'s."""
    return run_pivot(*to_cluster(state, plane, namespace), *args, **kwargs)


def moved_with_lab_file(
    plane: ControlPlane, namespace: str, directory: Path, *flags: str
) -> tuple[Path, Path]:
    """A state file of 3 provisioned servers moved into ``plane`` with ``-f`` a copy of the
    lab's topology and ``flags``; (state, file)."""
    state, file = directory / "strata.db", directory / "topology.yaml"
    provisioned_state(state, 3).close()
    shutil.copy(LAB, file)
    moved = run_pivot("-f", str(file), *to_cluster(state, plane, namespace), *flags)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    return state, file


def hold_shard_lease(plane: ControlPlane, namespace: str) -> None:
    """A live shard Lease of an in-cluster controller in ``namespace`` (held for 600 s
    by ``strata-7f9c-x2``): a controller runs there."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    spec = {"holderIdentity": "strata-7f9c-x2", "leaseDurationSeconds": 600, "renewTime": now}
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": spec}
    lease["metadata"] = {"name": "strata-shard-0"}
    with plane.client() as api:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        assert api.post(path, json=lease).status_code == 201


@pytest.fixture
def fresh_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of the test's own: no CRDs of Strata yet (a move makes them),
    free to be stopped in the middle of a move."""
    with control_plane(tmp_path_factory.mktemp("pivot-fresh")) as running:
        yield running


def started(*args: str, **env: str) -> subprocess.Popen[str]:
    """``strata pivot -t TOPOLOGY ARGS`` as a process of its own, ``env`` added to
    this one's (``STRATA_PIVOT_STOP``, ``STRATA_PIVOT_PAUSE``), its output piped."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    environment.pop("STRATA_PIVOT_FAILPOINT", None)
    command = [sys.executable, "-m", "strata.cli.app", "pivot", "-t", TOPOLOGY, *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )


def woken(process: subprocess.Popen[str], release: Path) -> str:
    """A process stopped at its ``STRATA_PIVOT_STOP`` instant let go (``release`` made,
    SIGCONT); its output once it has ended."""
    release.touch()
    os.kill(process.pid, signal.SIGCONT)
    out, _ = process.communicate(timeout=120)
    return out


def versions(store: KubeStore, paths: tuple[str, ...] = ()) -> dict[str, str]:
    """Every Server, ConfigMap, Secret and Lease of the store's namespace, and every
    object of ``paths``: its resourceVersion."""
    namespace = store.namespace
    found = {}
    for path in (
        *paths,
        store.servers.collection,
        f"/api/v1/namespaces/{namespace}/configmaps",
        f"/api/v1/namespaces/{namespace}/secrets",
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
    ):
        for obj in store.api.items(path):
            found[f"{path}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    return found


def stopped(pid: int) -> bool | None:
    """The process is stopped (state T in /proc/<pid>/stat, proc(5))."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return True if stat.rsplit(")", 1)[1].split()[0] == "T" else None


def unlocked(state: Path) -> bool:
    """No process holds the state file's write lock now (a probe: BEGIN IMMEDIATE)."""
    probe = sqlite3.connect(state, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def stopped_unlocked(pid: int, state: Path) -> None:
    """``pid`` stopped at its STRATA_PIVOT_STOP instant with the state file unlocked:
    a heartbeat stopped inside a write is continued (the main thread stops itself
    again at once) until it is not."""
    for _ in range(100):
        wait_for(lambda: stopped(pid), 120, f"pid {pid} stopped")
        if unlocked(state):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} held the state file's write lock at each of 100 stops")
