"""The table drives the work: every action it names has one performer, and a node found
resting in a state goes on with the action that state's work needs."""

from __future__ import annotations

from pathlib import Path

from strata.controller import TABLE, Action, Reconciler, State, recorded
from strata.controller.actions import BMC_ACTIONS, resume_action
from strata.controller.lifecycle import RESUME
from strata.lab.simulated import Fleet
from strata.plan import DiskPlan, build_plan, node_plan_from_jsonable, to_jsonable
from strata.store import SQLiteStore
from strata.topology import load

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


def test_every_action_of_the_table_has_one_performer(tmp_path: Path) -> None:
    topology = load(LAB)
    store = SQLiteStore(tmp_path / "state.db")
    reconciler = Reconciler(build_plan(topology, *recorded(store)), store, Fleet(topology, store))
    named = {step.action for step in TABLE.values()} | set(RESUME.values())
    assert named <= set(reconciler._handlers)
    assert set(reconciler._handlers) == set(Action)
    assert set(BMC_ACTIONS) == {
        Action.CHECK_BMC,
        Action.INSPECT,
        Action.PREPARE_BOOT,
        Action.POWER_ON,
        Action.POWER_OFF,
        Action.EJECT_MEDIA,  # not in the table: boot-from-disk's, for a virtual media node
    }


def test_a_provisioning_node_resumes_at_the_step_its_marks_say() -> None:
    """Boot device set for its attempt, not powered on for it: straight to the power-on
    (no second boot-device call); powered on already, or nothing prepared: prepare again
    (which finds a machine it powered on running and moves on without a second one)."""
    p = State.PROVISIONING
    assert resume_action(p, {"attempt": 3, "prepared": 3}) is Action.POWER_ON
    assert resume_action(p, {"attempt": 3, "prepared": 3, "powered": 3}) is Action.PREPARE_BOOT
    assert resume_action(p, {"attempt": 3, "prepared": 2}) is Action.PREPARE_BOOT
    assert resume_action(p, {}) is Action.PREPARE_BOOT
    assert resume_action(State.READY, {}) is Action.NONE
    assert resume_action(State.PROVISIONED, {}) is Action.BOOT_FROM_DISK


def test_a_plan_recorded_before_disks_had_properties_reads_back() -> None:
    """Records written by an earlier Strata kept a node's disks by name only."""
    plan = build_plan(load(LAB)).nodes[0]
    old = to_jsonable(plan)
    old["disks"] = [d.name for d in plan.disks]
    back = node_plan_from_jsonable(old)
    assert back.disks == tuple(DiskPlan(d.name) for d in plan.disks)
    assert node_plan_from_jsonable(to_jsonable(plan)) == plan
