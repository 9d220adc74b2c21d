"""The collector while a run lasts (strata.controller.collector): what the run loaded is
frozen and the young generation's threshold raised during the run, both undone when it
ends, whether it ends well or not."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from strata.controller import ApplyOptions, Change, Reconciler, recorded
from strata.controller.collector import YOUNG_FACTOR, RunHeap
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import SQLiteStore

FAST = FleetSettings(
    latency=(0.001, 0.002), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


def test_a_run_leaves_the_collector_as_it_found_it(tmp_path: Path) -> None:
    before = gc.get_threshold()
    seen: list[tuple[tuple[int, int, int], int]] = []
    topology = generated_topology(1, 3)
    store = SQLiteStore(tmp_path / "state.db")
    fleet = Fleet(topology, store, FAST)
    try:
        plan = build_plan(topology, *recorded(store))
        options = ApplyOptions(poll_interval=0.02)

        def observe(change: Change) -> None:  # the collector as each change is made
            seen.append((gc.get_threshold(), gc.get_freeze_count()))

        summary = Reconciler(plan, store, fleet, options, observe).run()
    finally:
        fleet.close()
        store.close()
    assert {s.value for s in summary.states.values()} == {"provisioned"}
    during = [threshold for threshold, frozen in seen if frozen > 0]
    assert during and all(t == (before[0] * YOUNG_FACTOR, *before[1:]) for t in during)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_restore_undoes_settle_and_is_harmless_alone() -> None:
    before = gc.get_threshold()
    heap = RunHeap()
    heap.restore()  # the run failed before it loaded anything
    assert gc.get_threshold() == before
    heap.settle()
    try:
        assert gc.get_threshold()[0] == before[0] * YOUNG_FACTOR
        assert gc.get_freeze_count() > 0
    finally:
        heap.restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.fixture(autouse=True)
def _collector_untouched() -> object:
    threshold = gc.get_threshold()
    yield None
    gc.set_threshold(*threshold)
    gc.unfreeze()
