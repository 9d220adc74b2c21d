"""Records that wait for the node's next record (``lifecycle.WRITE_BEHIND``,
``controller/writes.py``): inspecting is written with ready, booting with installing
(one status update each on the Kubernetes store instead of two), and a controller killed
while one waits finds the node in the state before — registering: it reads its BMC
again; provisioning with its power-on marked: it finds the machine on and goes on —
nothing powered on twice, nothing lost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import RecordWrite, SQLiteStore
from strata.topology import Topology

FAST = FleetSettings(
    latency=(0.001, 0.003), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)
OPTIONS = ApplyOptions(poll_interval=0.01)


class Killed(Exception):
    """The controller dies here."""


class Watched(SQLiteStore):
    """The store as it is, noting each ``write_records`` batch's (node, state) pairs;
    with ``kill_at``, the controller dies before the first batch holding that state."""

    def __init__(self, path: Path, kill_at: str | None = None) -> None:
        super().__init__(path)
        self.batches: list[list[tuple[str, str]]] = []
        self.kill_at = kill_at
        self.killed: list[str] = []

    def write_records(self, writes: Sequence[RecordWrite]) -> None:
        if self.kill_at and any(w.state == self.kill_at for w in writes):
            self.killed = [w.name for w in writes if w.state == self.kill_at]
            raise Killed
        self.batches.append([(w.name, w.state) for w in writes])
        super().write_records(writes)


def run(topo: Topology, store: SQLiteStore, fleet: Fleet) -> dict[str, State]:
    return Reconciler(build_plan(topo, *recorded(store)), store, fleet, OPTIONS).run().states


def test_inspecting_is_written_with_the_record_after_it(tmp_path: Path) -> None:
    topo = generated_topology(2, 3)
    store = Watched(tmp_path / "s.db")
    fleet = Fleet(topo, store, FAST)
    try:
        states = run(topo, store, fleet)
    finally:
        fleet.close()
    assert set(states.values()) == {State.PROVISIONED}
    for name in states:
        batches = [[s for n, s in b if n == name] for b in store.batches]
        for waits, then in (("inspecting", "ready"), ("booting", "installing")):
            with_it = [b for b in batches if waits in b]
            assert len(with_it) == 1 and then in with_it[0], (waits, with_it)  # never alone
        history = [e.detail.get("to") for e in store.events(name) if e.kind == "state"]
        assert history == [  # the log keeps every step
            *("registering", "inspecting", "ready", "provisioning"),
            *("booting", "installing", "provisioned"),
        ]
    store.close()


@pytest.mark.parametrize(
    ("kill_at", "found"), [("ready", "registering"), ("installing", "provisioning")]
)
def test_a_kill_while_a_record_waits_resumes_from_the_one_before(
    tmp_path: Path, kill_at: str, found: str
) -> None:
    topo = generated_topology(1, 2)
    dying = Watched(tmp_path / "s.db", kill_at=kill_at)
    fleet = Fleet(topo, dying, FAST)
    try:
        with pytest.raises(Killed):
            run(topo, dying, fleet)
        store = SQLiteStore(tmp_path / "s.db")  # the next controller's
        fleet.store = store
        assert dying.killed
        assert {store.records()[n].state for n in dying.killed} == {found}
        states = run(topo, store, fleet)
    finally:
        fleet.close()
        dying.close()
    assert set(states.values()) == {State.PROVISIONED}
    assert all(m.power_ons == 1 for m in fleet.machines.values())
    store.close()
