"""Faults before the switch roll the move back, in process (``Pivot``) so a test can act
at a failpoint: the target's API server stopped in the middle of the copy; the source
changed behind the copy (a boot service still serving it) so verify finds it; Strata's
CRDs of another version in the target. Each: refused or rolled back, the source in
charge again (a controller takes its lease and writes), a readable report."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path

import pytest

from strata.lab.ports import free_port
from strata.pivot import End, Options, Pivot, PivotFailed, PivotRefused, failpoints
from strata.pivot.digest import inventory
from strata.store import RecordWrite
from tests.integration.pivot.conftest import (
    TOPOLOGY,
    hold_shard_lease,
    kube_store,
    provisioned_state,
)
from tests.support.kube_api import ControlPlane


def _pivot(state: Path, plane: ControlPlane, namespace: str, lines: list[str]) -> Pivot:
    source = End.sqlite(state, TOPOLOGY)
    return Pivot(
        source, End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY), Options(say=lines.append)
    )


def _in_charge_again(state: Path) -> None:
    """The source works as before: a controller takes its lease and writes a record."""
    from strata.store import SQLiteStore

    store = SQLiteStore(state)
    store.acquire_writer("strata apply (pid 1 on here)", ttl=30)
    record = store.records()["n0000"]
    store.write_records([RecordWrite("n0000", record.version, "joining")])
    store.release_writer("strata apply (pid 1 on here)")


def test_the_target_api_going_away_mid_copy_rolls_back(
    fresh_plane: ControlPlane, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    before = inventory(provisioned_state(state, 120), history=False)
    failpoints.ACTIONS["copy:nodes:1"] = fresh_plane.stop
    lines: list[str] = []
    mover = _pivot(state, fresh_plane, "moving", lines)
    with pytest.raises(PivotFailed, match="not cleaned") as failed:
        mover.run()
    mover.close()
    assert "failed: KubeStoreError" in str(failed.value)
    assert any("the next strata pivot to it cleans it first" in line for line in lines)
    from strata.store import SQLiteStore

    source = SQLiteStore(state)
    journal = json.loads(source.note("pivot") or "{}")
    assert (journal["state"], journal["cleanup_pending"]) == ("rolled-back", True)
    assert source.writer() is None and inventory(source, history=False) == before
    _in_charge_again(state)


def test_a_source_changed_behind_the_copy_fails_verify_and_rolls_back(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 20)

    def boot_service_still_serving() -> None:  # one that does not check the freeze:
        import sqlite3  # the store refuses its writes now (store/fence.py)

        with sqlite3.connect(state) as raw:
            row = ("n0003", 1.7e9, "first-boot", '{"attempt": 1}')
            raw.execute("INSERT INTO events (node, at, kind, detail) VALUES (?, ?, ?, ?)", row)

    failpoints.ACTIONS["after:copy"] = boot_service_still_serving
    lines: list[str] = []
    mover = _pivot(state, plane, namespace, lines)
    with pytest.raises(
        PivotFailed, match=r"verify: counts differ.*log entries': 181.*log entries': 180"
    ):
        mover.run()
    mover.close()
    target = kube_store(plane, namespace)
    with plane.client() as api:  # the namespace the move made is going (finalised by the cluster)
        found = api.get(f"/api/v1/namespaces/{namespace}").json()
        assert found.get("status", {}).get("phase") == "Terminating" or found.get("code") == 404
    assert source.writer() is None
    assert json.loads(source.note("pivot") or "{}")["state"] == "rolled-back"
    del target
    _in_charge_again(state)


def test_crds_of_another_version_are_refused(fresh_plane: ControlPlane, tmp_path: Path) -> None:
    from strata.store.server_crd import server_crd

    crd = server_crd()
    crd["spec"]["versions"][0]["name"] = "v1beta9"
    with fresh_plane.client() as api:
        made = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
        assert made.status_code == 201, made.text
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 3)
    before = (inventory(source, history=False), source.writer(), source.note("pivot"))
    lines: list[str] = []
    mover = _pivot(state, fresh_plane, "strata", lines)
    with pytest.raises(PivotRefused, match="CRD version mismatch"):
        mover.run()
    mover.close()
    assert (inventory(source, history=False), source.writer(), source.note("pivot")) == before


class Partition:
    """A TCP relay in front of an API server (TLS passes through: its certificate names
    127.0.0.1), which a test cuts — every connection closed, new ones refused — and
    mends again on the same port: the network between Strata and the target failing."""

    def __init__(self, upstream: str) -> None:
        from urllib.parse import urlparse

        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 443)
        self._open: list[socket.socket] = []
        self._down = False
        self._lock = threading.Lock()  # a connection is kept, or closed by cut(): never both
        self._listener: socket.socket | None = None
        self.port = free_port()
        self.mend()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        with self._lock:
            self._listener, self._down = listener, False
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._down = True
            assert self._listener is not None
            _close(self._listener)  # shutdown wakes the thread blocked in accept() (Linux)
            for conn in self._open:
                _close(conn)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                server = socket.create_connection(self.upstream)
            except OSError:
                return
            with self._lock:
                if self._down:
                    _close(client)
                    _close(server)
                    return
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def _pump(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        b.shutdown(socket.SHUT_WR)


def test_a_target_cut_off_mid_copy_is_cleaned_by_the_next_move(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    from strata.kube.kubeconfig import admin_kubeconfig
    from strata.store import SQLiteStore

    partition = Partition(plane.url)
    kubeconfig = tmp_path / "through.kubeconfig"
    kubeconfig.write_text(
        admin_kubeconfig(
            partition.url, plane.pki.ca.cert_pem, plane.admin.cert_pem, plane.admin.key_pem
        )
    )
    state = tmp_path / "strata.db"
    before = inventory(provisioned_state(state, 120), history=False)
    failpoints.ACTIONS["copy:nodes:1"] = partition.cut
    lines: list[str] = []
    source_end, target_end = End.sqlite(state, TOPOLOGY), End.kube(kubeconfig, namespace, TOPOLOGY)
    mover = Pivot(source_end, target_end, Options(say=lines.append))
    with pytest.raises(PivotFailed, match="not cleaned"):
        mover.run()
    mover.close()
    failpoints.ACTIONS.clear()
    left = kube_store(plane, namespace)  # behind the cut: the partial copy and its lease
    assert left.records() and left.writer() is not None
    _in_charge_again(state)
    source = SQLiteStore(state)
    record = source.records()["n0000"]
    source.write_records([RecordWrite("n0000", record.version, "provisioned")])  # as it was
    partition.mend()
    again = Pivot(source_end, target_end, Options(say=lines.append))
    again.run()
    again.close()
    assert any("cleaned what move" in line for line in lines)
    moved = inventory(kube_store(plane, namespace), history=False)
    assert moved.nodes == inventory(source, history=False).nodes and len(moved.nodes) == 120
    assert moved.log[: len(before.log)] == before.log


def test_a_controller_running_in_the_target_is_refused(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:

    from strata.pivot import install
    from strata.store.kube_api import KubeApi

    install.ensure(KubeApi(plane.client()), namespace)
    hold_shard_lease(plane, namespace)
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 3)
    lines: list[str] = []
    with pytest.raises(
        PivotRefused,
        match=r"in-cluster controller runs in the target's namespace \(strata-7f9c-x2\)",
    ):
        _pivot(state, plane, namespace, lines).run()
    assert source.writer() is None and source.note("pivot") is None
