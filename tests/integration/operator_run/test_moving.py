"""`strata controller` and a move (`strata pivot`, docs/pivot.md): a Topology whose
store's writer lease a move holds is not driven — nothing powered on, Progressing says
Moving (or Moved) naming the holder — and is driven once the lease is given back; a
move that freezes the store while a run drives servers stops it: no power-on after the
controller said it saw the freeze.

The leases are written as the move writes them (``strata.pivot.ends.marker``) into the
Kubernetes store the controller reads (``KubeStore.acquire_writer``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from strata.pivot.ends import End, marker
from strata.store.kube_store import KubeStore
from tests.support.kube_api import wait_for

HOUR = 3600.0
STAGGER = 8.0  # s between power-ons: the freeze must land before the last of 4, under load
STAGGERED = f"{{maxConcurrentPowerOn: 1, staggerSeconds: {STAGGER}}}"


def _store(run: Any, name: str) -> KubeStore:
    return KubeStore.from_kubeconfig(run.plane.admin_kubeconfig(), run.namespace, name)


def _power_ons(run: Any) -> int:
    return sum(m.power_ons for m in run.machines.machines.values())


def _reason(run: Any, name: str, reason: str) -> dict[str, Any] | None:
    run.check_alive()
    found = run.condition(name, "Progressing")
    return found if found and found["reason"] == reason and found["status"] == "False" else None


def test_a_topology_a_move_holds_is_not_driven_until_the_lease_is_given_back(
    make_run: Any, tmp_path: Path
) -> None:
    run = make_run(2)
    store = _store(run, "lab")
    elsewhere = End.sqlite(tmp_path / "elsewhere.db", "lab")
    moved = marker("moved", "m-1", elsewhere)
    store.acquire_writer(moved, HOUR)  # the old end of a finished move
    run.start()
    run.create(run.document(run.systems, "lab"))
    said = wait_for(lambda: _reason(run, "lab", "Moved"), 60, "Progressing=False Moved")
    assert moved in said["message"] and said["observedGeneration"] == 1

    frozen = marker("frozen", "m-2", elsewhere)  # a move out of here begins
    store.acquire_writer(frozen, HOUR, replacing=moved)
    said = wait_for(lambda: _reason(run, "lab", "Moving"), 60, "Progressing=False Moving")
    assert frozen in said["message"]
    time.sleep(2.0)  # four resyncs (0.5 s): each one reads the lease, none drives
    assert _power_ons(run) == 0 and not any(m == "POST" for m, _ in run.requests)
    reasons = {e["reason"]: e["message"] for e in run.events("lab")}
    assert moved in reasons["Moved"] and frozen in reasons["Moving"]
    assert run.get("lab")["status"].get("servers", 0) == 0  # answered: no record yet

    store.release_writer(frozen)  # the move rolled back: the lease given back
    run.wait_condition("lab", "Ready", "True", 1, timeout=180)
    assert [run.machines.by_name(s.name).power_ons for s in run.systems] == [1, 1]
    assert run.get("lab")["status"]["states"] == {"provisioned": 2}
    store.close()


def test_a_move_beginning_during_a_run_stops_it_before_the_next_power_on(
    make_run: Any, tmp_path: Path
) -> None:
    run = make_run(4)
    store = _store(run, "busy")
    run.start()
    run.create(run.document(run.systems, "busy", budget=STAGGERED))
    wait_for(lambda: _power_ons(run) >= 1 or None, 60, "the first power-on")
    frozen = marker("frozen", "m-3", End.sqlite(tmp_path / "elsewhere.db", "busy"))
    store.acquire_writer(frozen, HOUR)  # the move freezes the store under the run
    wait_for(lambda: _reason(run, "busy", "Moving"), 60, "Progressing=False Moving")
    seen = _power_ons(run)
    print(f"freeze seen after {seen} of {len(run.systems)} power-ons")
    assert seen < len(run.systems)  # the freeze came before the last one (STAGGER apart)
    time.sleep(2 * STAGGER)  # a run going on would have powered on more
    assert _power_ons(run) == seen
    assert _reason(run, "busy", "Moving") is not None

    store.release_writer(frozen)
    run.wait_condition("busy", "Ready", "True", 1, timeout=240)
    for machine in run.machines.machines.values():
        assert machine.errors == [] and machine.power_ons == 1, machine
    store.close()
