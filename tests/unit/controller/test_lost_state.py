"""A lost state never reinstalls a fleet: servers found on at first contact wait for a
person to adopt them or consent to reinstall them. Simulated fleet, real SQLite files."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.bmc import PowerState
from strata.controller import ApplyOptions, Event, Reconciler, State, Summary, recorded
from strata.controller.requests import RequestRefused, request
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import ChangeKind, build_plan, to_jsonable
from strata.store import RecordWrite, SQLiteStore, StateLost
from strata.topology import Topology

FAST = FleetSettings(
    latency=(0.001, 0.002), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


def apply(topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any) -> Summary:
    fleet.store = store  # the machines report to whichever state the controller works from
    return Reconciler(
        build_plan(topo, *recorded(store)),
        store,
        fleet,
        ApplyOptions(poll_interval=0.01, **options),
    ).run()


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[tuple[Topology, Fleet]]:
    """Four servers Strata installed; they are running."""
    topo = generated_topology(1, 4)
    first = SQLiteStore(tmp_path / "first.db")
    fleet = Fleet(topo, first, FAST)
    assert apply(topo, first, fleet).ok
    assert {m.power for m in fleet.machines.values()} == {PowerState.ON}
    yield topo, fleet
    fleet.close()


def test_a_lost_state_holds_every_running_server_and_powers_nothing(
    tmp_path: Path, installed: tuple[Topology, Fleet]
) -> None:
    topo, fleet = installed
    before = {n: (m.power_ons, m.power_offs) for n, m in fleet.machines.items()}
    fresh = SQLiteStore(tmp_path / "fresh.db")
    summary = apply(topo, fresh, fleet)
    assert not summary.ok
    assert set(summary.states.values()) == {State.FOUND_RUNNING}
    assert all("says it is on" in why for why in summary.found_running.values())
    assert {n: (m.power_ons, m.power_offs) for n, m in fleet.machines.items()} == before
    assert all(m.boot_once is None for m in fleet.machines.values())  # no boot device set
    found = {n for n, r in fresh.records().items() if r.state == State.FOUND_RUNNING}
    plan = build_plan(topo, {}, found)
    assert {a.kind for a in plan.actions} == {ChangeKind.ADOPT_OR_REINSTALL}
    again = apply(topo, fresh, fleet)  # a second apply asks the same question again
    assert set(again.states.values()) == {State.FOUND_RUNNING}


def test_adopting_takes_them_as_provisioned_untouched(
    tmp_path: Path, installed: tuple[Topology, Fleet]
) -> None:
    topo, fleet = installed
    fresh = SQLiteStore(tmp_path / "fresh.db")
    apply(topo, fresh, fleet)
    names = sorted(fleet.machines)
    done = request(fresh, names, Event.ADOPT)
    assert done.controller is None
    assert {r.state for r in fresh.records().values()} == {State.PROVISIONED}
    power_ons = {n: m.power_ons for n, m in fleet.machines.items()}
    summary = apply(topo, fresh, fleet)
    assert summary.ok and set(summary.states.values()) == {State.PROVISIONED}
    assert {n: m.power_ons for n, m in fleet.machines.items()} == power_ons
    with pytest.raises(RequestRefused, match="provisioned, not found-running"):
        request(fresh, names[:1], Event.ADOPT)


def test_consent_reinstalls_only_the_servers_named(
    tmp_path: Path, installed: tuple[Topology, Fleet]
) -> None:
    topo, fleet = installed
    fresh = SQLiteStore(tmp_path / "fresh.db")
    one = sorted(fleet.machines)[0]
    power_ons = {n: m.power_ons for n, m in fleet.machines.items()}
    summary = apply(topo, fresh, fleet, allow_reprovision=frozenset({one}))
    assert summary.states[one] is State.PROVISIONED
    assert fleet.machines[one].power_ons == power_ons[one] + 1  # reset into the installer
    others = {n: s for n, s in summary.states.items() if n != one}
    assert set(others.values()) == {State.FOUND_RUNNING}
    assert all(fleet.machines[n].power_ons == power_ons[n] for n in others)


def test_a_running_server_strata_is_installing_is_not_found_running(tmp_path: Path) -> None:
    """A node that failed while booting its installer (powered on by Strata) is retried
    through registering: its BMC says on, and that is Strata's own doing."""
    topo = generated_topology(1, 1)
    store = SQLiteStore(tmp_path / "s.db")
    fleet = Fleet(topo, store, FAST)
    try:
        name = sorted(fleet.machines)[-1]
        fleet.machines[name].no_ignition = True
        timeouts = ApplyOptions().timeouts.with_overrides({"booting": 0.3})
        assert apply(topo, store, fleet, timeouts=timeouts).states[name] is State.FAILED
        assert fleet.machines[name].power is PowerState.ON
        fleet.machines[name].no_ignition = False
        request(store, [name], Event.RETRY)
        assert apply(topo, store, fleet).states[name] is State.PROVISIONED
    finally:
        fleet.close()


def test_first_contact_survives_a_restart_between_its_record_and_the_check(
    tmp_path: Path, installed: tuple[Topology, Fleet]
) -> None:
    """A controller killed after writing `registering` and before the BMC answered: the
    restart still treats the node as first contact."""
    topo, fleet = installed
    fresh = SQLiteStore(tmp_path / "fresh.db")
    plans = {p.name: p for p in build_plan(topo).nodes}
    fresh.write_records(
        [
            RecordWrite(
                n, 0, State.REGISTERING.value, marks={"first-contact": True}, plan=to_jsonable(p)
            )
            for n, p in plans.items()
        ]
    )
    summary = apply(topo, fresh, fleet)
    assert set(summary.states.values()) == {State.FOUND_RUNNING}


def test_a_state_removed_under_a_running_controller_stops_it(tmp_path: Path) -> None:
    """Deleting the state while apply runs must not end in "all provisioned" written to
    a file nobody will read again: the controller notices at its next lease renewal."""
    topo = generated_topology(1, 4)
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    slow = FleetSettings(latency=(0.05, 0.1), boot_seconds=(5, 6), install_seconds=(5, 6))
    fleet = Fleet(topo, store, slow)
    outcome: list[BaseException | Summary] = []

    def run() -> None:
        try:
            outcome.append(apply(topo, store, fleet, lease_ttl=0.3))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        while not any(store.attempt(n) for n in store.records()):  # a machine powered on
            time.sleep(0.02)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        thread.join(30)
        assert not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], StateLost), outcome
    finally:
        fleet.close()


@pytest.mark.parametrize("state", ["provisioning", "ready"])
def test_a_restored_backup_never_resets_servers_that_run(
    tmp_path: Path, installed: tuple[Topology, Fleet], state: str
) -> None:
    """A backup taken mid-apply, restored after the servers were installed: its records
    say the install is still to do, yet no attempt of Strata's is running there."""
    topo, fleet = installed
    restored = SQLiteStore(tmp_path / "restored.db")
    plans = {p.name: p for p in build_plan(topo).nodes}
    restored.write_records(
        [RecordWrite(n, 0, state, plan=to_jsonable(p), marks={}) for n, p in plans.items()]
    )
    power_ons = {n: m.power_ons for n, m in fleet.machines.items()}
    summary = apply(topo, restored, fleet)
    assert {n: m.power_ons for n, m in fleet.machines.items()} == power_ons
    assert set(summary.states.values()) == {State.FOUND_RUNNING}
    assert all("no install of Strata's is in progress" in r for r in summary.found_running.values())
    assert all(restored.attempt(n) is None for n in plans)  # no tokens left usable
