"""Two replicas of `strata controller` split the racks' shards (each shard a Lease);
one is killed with SIGKILL at a random moment while servers install: the other takes
its shards once their Leases go unrenewed for a lease duration, and every server
converges to provisioned, none powered on twice.

Both replicas run --no-serve: the boot service runs in this process on the same
Kubernetes store (as a Service in front of the replicas would), so machines keep
booting whichever replica dies — as in the SQLite crash test."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.integration.operator_run.conftest import (
    boot_service_beside,
    provisioned,
    shard_holders,
)
from tests.support.kube_api import wait_for

SERVERS, PER_RACK, SHARDS, LEASE = 24, 4, 6, 3.0


def test_two_replicas_split_shards_and_one_killed_loses_them_to_the_other(
    make_run: Any, tmp_path: Path
) -> None:
    run = make_run(SERVERS)
    run.machines.install_seconds = 1.0
    store, boot = boot_service_beside(run, tmp_path, "pair", PER_RACK)
    flags = ("--no-serve", "--shards", str(SHARDS), "--lease-duration", str(LEASE))
    try:
        run.start(*flags, identity="replica-a")
        run.start(*flags, identity="replica-b")
        split = wait_for(lambda: _split(run), 60, "the shards split 3 and 3")
        print(f"shards: {split}")

        run.create(run.document(run.systems, "pair", per_rack=PER_RACK))
        rng = random.Random(int(os.environ.get("STRATA_CRASH_SEED", "7")))
        enough = rng.randint(1, SERVERS // 2)  # then some are booting and installing
        wait_for(lambda: provisioned(store) >= enough or None, 120, f"{enough} provisioned")
        victim = rng.choice(["replica-a", "replica-b"])
        survivor = "replica-b" if victim == "replica-a" else "replica-a"
        run.kill(victim)
        killed_at = time.monotonic()
        moment = Counter(s.state for s in store.summaries())
        print(f"killed {victim} at {dict(moment)}")
        assert moment["provisioned"] < SERVERS  # mid-way: the survivor has work to take
        wait_for(lambda: _all_held_by(run, survivor), 60, f"{survivor} holding every shard")
        print(f"{survivor} held every shard {time.monotonic() - killed_at:.1f} s after the kill")

        run.wait_condition("pair", "Ready", "True", 1, timeout=240)
    finally:
        boot.stop()
    records = store.records()
    assert {r.state for r in records.values()} == {"provisioned"}
    assert len(records) == SERVERS
    for machine in run.machines.machines.values():
        assert machine.errors == [], machine
        assert machine.power_ons_at_install is not None, machine
        assert machine.power_ons == machine.power_ons_at_install == 1, machine
    store.close()


def _split(run: Any) -> dict[str, str] | None:
    holders = shard_holders(run)
    counts = [list(holders.values()).count(r) for r in ("replica-a", "replica-b")]
    return holders if len(holders) == SHARDS and counts == [3, 3] else None


def _all_held_by(run: Any, survivor: str) -> bool | None:
    run.check_alive()
    holders = shard_holders(run)
    return True if set(holders.values()) == {survivor} and len(holders) == SHARDS else None
