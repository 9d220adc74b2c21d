"""The loop's own actions must not touch the store before the record of the
state they belong to is written. A controller killed right after it ended a node's
attempt (the node had just become provisioned, its record not yet flushed) used to
leave the attempt ended and the record at provisioning: the next run's prepare-boot
found no attempt of its own and a machine that is on, and took the node Strata had just
installed for one found running. The attempt now ends only with the record or after it
(``controller/writes.py``: in the same write when the record is pending)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import RecordWrite, SQLiteStore

FAST = FleetSettings(
    latency=(0.001, 0.003), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


class Killed(Exception):
    """The controller dies here."""


class DiesAfterEndingAnAttempt(SQLiteStore):
    """The store as it is, with the controller killed right after it ended an attempt:
    whatever the controller had not written by then is lost."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.ended: list[str] = []

    def end_attempt(self, node: str, provisioned: bool) -> None:
        super().end_attempt(node, provisioned=provisioned)
        self.ended.append(node)
        raise Killed

    def write_records(self, writes: Sequence[RecordWrite]) -> None:
        """An attempt ended with the record saying why (``RecordWrite.end_attempt``)."""
        super().write_records(writes)
        ending = [w.name for w in writes if w.end_attempt is not None]
        if ending:
            self.ended += ending
            raise Killed


def test_a_kill_right_after_an_attempt_ends_does_not_strand_the_node(tmp_path: Path) -> None:
    topo = generated_topology(1, 1)
    dying = DiesAfterEndingAnAttempt(tmp_path / "s.db")
    fleet = Fleet(topo, dying, FAST)
    # a report lost would leave a node waiting: fail in seconds rather than hang
    timeouts = ApplyOptions().timeouts.with_overrides({"booting": 20, "installing": 20})
    opts = ApplyOptions(poll_interval=0.01, timeouts=timeouts)
    try:
        with pytest.raises(Killed):
            Reconciler(build_plan(topo, *recorded(dying)), dying, fleet, opts).run()
        store = SQLiteStore(tmp_path / "s.db")  # the next controller's
        fleet.store = store  # the machines report there now (the dead one's stays open)
        assert dying.ended  # both nodes may end in one write
        for node in dying.ended:
            assert store.records()[node].state == "provisioned", "its record is written first"
        summary = Reconciler(build_plan(topo, *recorded(store)), store, fleet, opts).run()
    finally:
        fleet.close()
        dying.close()
    assert set(summary.states.values()) == {State.PROVISIONED}, summary.found_running
    assert all(m.power_ons == 1 for m in fleet.machines.values())
    assert all(store.attempt(n) is None for n in summary.states)
    store.close()
