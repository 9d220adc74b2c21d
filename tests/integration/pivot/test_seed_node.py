"""The seed's own machine is provisioned last (issue 18): three emulated servers
(sushy-tools' BMCs, simulated machines) in layer mgmt, marked ``pivot: true``, whose
cluster is a real control plane with kubelet registrations from each machine's Ignition
(``tests/support/join_standin.py``). The third is the seed's machine: its BMC says it is
on (it runs the seed). `strata apply --seed-node` — the command `strata seed start`
runs (``strata.seed.start.apply_command`` with ``extra``) — holds it at declared, untouched
(said in the plan and in status), takes the two others to joined, and:

- a pivot that fails (an in-cluster controller already holds a shard Lease there) is
  rolled back and hands nothing over: no consent in the cluster, the machine untouched;
- a pivot that succeeds hands it over: its name in the Topology's
  ``spec.consent.allowReprovision``, the seed saying its machine is about to be
  reinstalled and by whom; then `strata controller` against the cluster (on the host, as
  docs/pivot.md says) sets its one-time network boot and power-cycles it through its BMC,
  and its record reaches provisioned — no other server powered on again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from strata.controller.options import SEED_HELD
from strata.pivot.host import running
from strata.store import KubeStore
from strata.store.kube_api import KubeApi, client_from_kubeconfig
from tests.integration.controller.conftest import make_fleet  # noqa: F401 (a fixture)
from tests.integration.pivot.conftest import hold_shard_lease
from tests.integration.pivot.test_apply_pivot import (
    _controller_there,
    joined_fleet,  # noqa: F401 (a fixture)
)
from tests.support.boot_server import free_port
from tests.support.fleet_topology import PASSWORD_ENV
from tests.support.join_standin import JoinStandIn
from tests.support.kube_api import wait_for
from tests.support.redfish_emulator import USERNAME, Emulator, FakeSystem

TOPOLOGY_PATH = "/apis/strata.dev/v1alpha1/namespaces/strata/topologies/emulated"


def _power_on(emulator: Emulator, system: FakeSystem) -> None:
    """The seed's machine is on before Strata runs: it booted the seed."""
    on = httpx.post(
        f"{emulator.url.removeprefix('redfish+')}{system.path}/Actions/ComputerSystem.Reset",
        json={"ResetType": "On"},
        auth=(USERNAME, os.environ[PASSWORD_ENV]),
    )
    assert on.status_code in (200, 204), on.text


def test_the_seed_hands_its_own_machine_to_the_clusters_controller_after_the_pivot(
    joined_fleet: tuple[Any, JoinStandIn, str],  # noqa: F811
    emulator: Emulator,
    tmp_path: Path,
) -> None:
    fleet, standin, _ = joined_fleet
    seed = fleet.systems[2].name  # a worker of layer mgmt
    _power_on(emulator, fleet.systems[2])
    machine = fleet.machines.by_name(seed)
    on = machine.power_ons  # the seed's own boot
    others = [s.name for s in fleet.systems if s.name != seed]

    kept = fleet.apply("--until", "joined", "--seed-node", seed, "--no-pivot")
    assert kept.exit_code == 0, kept.output
    assert (
        f"{seed}: the seed's own machine (this one): held, untouched; this run does not pivot "
        "into layer mgmt, so nothing hands it over" in kept.output
    )
    status = fleet.status()["nodes"]
    assert status[seed] == {**status[seed], "state": "declared", "reason": SEED_HELD}
    assert {status[n]["state"] for n in others} == {"joined"}
    shown = fleet.strata("status", "-f", str(fleet.file))
    assert "held: waiting for the pivot" in shown.output, shown.output
    assert (machine.power_ons, machine.once) == (on, None)  # not found running: untouched

    plane = standin.planes[0]
    with plane.client() as api:
        _controller_there(api)
    hold_shard_lease(plane, "strata")  # type: ignore[arg-type]  # the move is refused
    pivoting = (
        "--until",
        "joined",
        "--seed-node",
        seed,
        "--copy-credentials",
        "--controller",
        "none",
    )
    refused = fleet.apply(*pivoting)
    assert refused.exit_code != 0, refused.output
    assert "pivot failed" in refused.output
    assert (
        f"{seed} (this machine) is not handed over (the pivot did not complete)" in refused.output
    )
    with plane.client() as api:  # rolled back: no Topology there, so no consent
        assert api.get(TOPOLOGY_PATH).status_code == 404
    assert (machine.power_ons, machine.once) == (on, None)

    with plane.client() as api:
        path = "/apis/coordination.k8s.io/v1/namespaces/strata/leases/strata-shard-0"
        assert api.delete(path).status_code == 200
    moved = fleet.apply(*pivoting)
    assert moved.exit_code == 0, moved.output
    said = moved.output
    handed = f"spec.consent.allowReprovision += {seed}"
    assert said.index("pivot: layer mgmt is joined") < said.index(handed)
    assert (
        f"this machine ({seed}) is about to be reinstalled: the controller in layer mgmt's" in said
    )
    with plane.client() as api:
        topology = api.get(TOPOLOGY_PATH).json()
    assert topology["spec"]["consent"] == {"allowReprovision": [seed]}
    assert (machine.power_ons, machine.once) == (on, None)  # handed over, not yet touched

    kubeconfig = fleet.file.parent / ".strata" / "mgmt.kubeconfig"
    _controller_provisions(fleet, kubeconfig, seed, tmp_path)
    assert machine.power_ons == on + 1  # one power cycle, through its BMC
    assert machine.boots[-2:] == ["net", "disk"]  # into the network boot set first
    assert [fleet.machines.by_name(n).power_ons for n in others] == [1, 1]


def _controller_provisions(fleet: Any, kubeconfig: Path, seed: str, tmp_path: Path) -> None:
    """`strata controller` on the host against the cluster until ``seed`` is provisioned."""
    command = [
        sys.executable, "-m", "strata.cli.app", "controller",
        "--kubeconfig", str(kubeconfig), "--namespace", "strata", "--identity", "after-seed",
        "--listen", f"127.0.0.1:{fleet.port}", "--url", f"http://127.0.0.1:{fleet.port}",
        "--artifacts", str(fleet.file.parent / "artifacts"),
        "--health-addr", f"127.0.0.1:{free_port()}", "--until", "provisioned", "--resync", "0.5",
    ]  # fmt: skip
    log_path = tmp_path / "controller.log"
    store = KubeStore.from_kubeconfig(kubeconfig, "strata", "emulated")

    def provisioned() -> bool | None:
        if process.poll() is not None:
            raise AssertionError(log_path.read_text()[-6000:])
        return True if store.records()[seed].state in ("provisioned", "joined") else None

    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env=dict(os.environ))
        try:
            wait_for(provisioned, 240, f"{seed} provisioned by the cluster's controller")
        finally:
            process.terminate()
            process.wait(30)
            store.close()


def test_the_seed_keeps_its_machine_while_the_clusters_controller_runs_on_it(
    joined_fleet: tuple[Any, JoinStandIn, str],  # noqa: F811
    emulator: Emulator,
    tmp_path: Path,
) -> None:
    """No Node of the cluster can run the controller (these Nodes run no pods), so
    ``--controller auto`` starts it on this host — the seed's own machine: handed over,
    the machine would be reinstalled under the cluster's only controller. It is kept:
    no consent written, the machine untouched, what to do once the controller runs
    elsewhere said."""
    fleet, _, _ = joined_fleet
    seed = fleet.systems[2].name
    _power_on(emulator, fleet.systems[2])
    machine = fleet.machines.by_name(seed)
    on = machine.power_ons
    moved = fleet.apply("--until", "joined", "--seed-node", seed, "--copy-credentials")
    pid_file = fleet.file.parent / ".strata" / "controller-emulated-strata.pid"
    try:
        assert moved.exit_code == 0, moved.output
        said = moved.output
        assert "controller: auto -> host" in said and "started on this host" in said, said
        assert (
            f"{seed} (this machine) is not handed over: the cluster's controller runs on it (pid "
            in said
        )
        assert f"add {seed} to spec.consent.allowReprovision of topologies/emulated" in said
        assert "spec.consent.allowReprovision +=" not in said
        kubeconfig = fleet.file.parent / ".strata" / "mgmt.kubeconfig"
        api = KubeApi(client_from_kubeconfig(kubeconfig))
        topology = api.get(TOPOLOGY_PATH)
        api.client.close()
        assert topology is not None
        consent = topology["spec"].get("consent") or {}
        assert not consent.get("allowReprovision"), topology["spec"]
        assert (machine.power_ons, machine.once) == (on, None)
    finally:
        pid = running(pid_file)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
