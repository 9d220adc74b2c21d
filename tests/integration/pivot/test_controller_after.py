"""After the move, the cluster's controller carries on from the moved state: a real
`strata apply` takes two servers to provisioned (sushy-tools' emulated BMCs, simulated
machines), `strata pivot --copy-credentials` moves its state file into a cluster with
the Topology object made from its file and the BMC password as a Secret, the Topology
is given a third server, and `strata controller` run
against the cluster (on the host, as docs/pivot.md says) plans "1 create, 2
unchanged" and provisions only the new one: no moved server is powered on again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from strata.store import KubeStore
from tests.integration.controller.conftest import make_fleet  # noqa: F401 (a fixture)
from tests.integration.operator_run.conftest import TOPOLOGIES, _object
from tests.support.boot_server import free_port
from tests.support.fleet_topology import fleet_yaml
from tests.support.kube_api import ControlPlane, wait_for
from tests.support.redfish_emulator import Emulator


def test_the_clusters_controller_goes_on_from_the_moved_state(
    make_fleet: Any,  # noqa: F811
    emulator: Emulator,
    plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
) -> None:
    fleet = make_fleet(3, per_rack=3)
    two = fleet.file.parent / "two.yaml"
    two.write_text(fleet_yaml(emulator.url, fleet.systems[:2], per_rack=3))
    applied = fleet.strata(
        "apply", "-f", str(two), "--state", str(tmp_path / "strata.db"),
        "--listen", f"127.0.0.1:{fleet.port}", "--url", f"http://127.0.0.1:{fleet.port}",
        "--artifacts", str(fleet.file.parent / "artifacts"), "-o", "plain", "--until", "provisioned",
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    kubeconfig = plane.admin_kubeconfig()
    moved = fleet.strata(
        "pivot", "-f", str(two), "--state", str(tmp_path / "strata.db"),
        "--to-kubeconfig", str(kubeconfig), "--to-namespace", namespace, "--copy-credentials", "--controller", "none",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    document = yaml.safe_load(fleet.file.read_text())  # all three servers
    with plane.client() as api:  # the move made the Topology from two.yaml: a third server
        path = f"{TOPOLOGIES.format(ns=namespace)}/emulated"
        moved_object = api.get(path).json()
        spec = _object(document, None)["spec"]  # its BMC password: the Secret the move made
        spec["credentials"] = moved_object["spec"]["credentials"]
        assert spec["credentials"][0]["password"] == {
            "secret": {"name": "emulated-bmc-emulator", "key": "password"}
        }
        made = api.put(path, json={**moved_object, "spec": spec})
        assert made.status_code == 200, made.text
    health = free_port()
    command = [
        sys.executable, "-m", "strata.cli.app", "controller",
        "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--identity", "after-pivot",
        "--listen", f"127.0.0.1:{fleet.port}", "--url", f"http://127.0.0.1:{fleet.port}",
        "--artifacts", str(fleet.file.parent / "artifacts"), "--health-addr", f"127.0.0.1:{health}",
        "--until", "provisioned", "--resync", "0.5",
    ]  # fmt: skip
    log = (tmp_path / "controller.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=log, env=dict(os.environ))
    try:
        ready = wait_for(lambda: _ready(namespace, plane, process, tmp_path), 240, "Ready=True")
    finally:
        process.terminate()
        process.wait(30)
    assert ready["status"]["states"] == {"provisioned": 3}
    planned = next(c for c in ready["status"]["conditions"] if c["type"] == "Planned")
    # the plan against the moved records: the new server created, the moved ones kept; a
    # run started again (a replan) before the new one settled plans it unchanged too
    assert planned["message"] in ("1 create, 2 unchanged", "3 unchanged"), planned
    assert [fleet.machines.by_name(s.name).power_ons for s in fleet.systems] == [1, 1, 1]
    store = KubeStore.from_kubeconfig(kubeconfig, namespace, "emulated")
    assert {r.state for r in store.records().values()} == {"provisioned"}


def _ready(
    namespace: str, plane: ControlPlane, process: Any, tmp_path: Path
) -> dict[str, Any] | None:
    if process.poll() is not None:
        raise AssertionError((tmp_path / "controller.log").read_text()[-6000:])
    with plane.client() as api:
        found = api.get(f"{TOPOLOGIES.format(ns=namespace)}/emulated").json()
    conditions = (found.get("status") or {}).get("conditions") or []
    ok = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return dict(found) if ok else None
