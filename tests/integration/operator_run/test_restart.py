"""`strata controller` SIGKILLed mid-provisioning and started again under the SAME
--identity (a container restart in its pod: the Deployment sets STRATA_IDENTITY to the
pod's name): the shard Leases still naming it are its own, taken back at once; every
server converges to provisioned, an edit made after the restart is applied, and no
server is powered on twice.

The replica runs --no-serve: the boot service runs in this process on the same
Kubernetes store (as a Service in front of the replicas would), so a machine booting
during the kill is not refused by a dead boot service (as in tests/.../test_replicas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.operator_run.conftest import (
    boot_service_beside,
    provisioned,
    shard_holders,
)
from tests.support.kube_api import wait_for

SERVERS, PER_RACK, SHARDS, LEASE = 7, 2, 4, 3.0


def test_a_replica_restarted_under_its_identity_takes_its_shards_back_and_converges(
    make_run: Any, tmp_path: Path
) -> None:
    run = make_run(SERVERS)
    run.machines.install_seconds = 1.0
    first, added = run.systems[:-1], run.systems[-1]
    store, boot = boot_service_beside(run, tmp_path, "same", PER_RACK)
    flags = ("--no-serve", "--shards", str(SHARDS), "--lease-duration", str(LEASE))
    try:
        run.start(*flags)
        run.create(run.document(first, "same", per_rack=PER_RACK))
        wait_for(lambda: provisioned(store) >= 1 or None, 120, "one server provisioned")
        run.kill("replica-a")  # SIGKILL mid-way: the shard Leases still name replica-a
        print(f"killed with {provisioned(store)} of {len(first)} provisioned")
        assert set(shard_holders(run).values()) == {"replica-a"}
        run.killed.discard("replica-a")
        run.start(*flags)  # the same identity
        run.wait_condition("same", "Ready", "True", 1, timeout=240)

        run.replace(run.document(run.systems, "same", per_rack=PER_RACK))  # one added
        run.wait_condition("same", "Ready", "True", 2, timeout=240)
    finally:
        boot.stop()
    records = store.records()
    assert len(records) == SERVERS and {r.state for r in records.values()} == {"provisioned"}
    assert run.machines.by_name(added.name).power_ons == 1
    for machine in run.machines.machines.values():
        assert machine.errors == [], machine
        assert machine.power_ons == machine.power_ons_at_install == 1, machine
    assert set(shard_holders(run).values()) == {"replica-a"}
    store.close()
