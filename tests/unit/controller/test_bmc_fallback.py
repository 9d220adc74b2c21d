"""bmc.fallback: a node whose first BMC fails an action goes on through its second (its
IPMI beside its Redfish), said in a ``bmc-fallback`` record; a capability the fallback
lacks moves the boot to the next method (the simulated fleet: exact and fast)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from strata.bmc import (
    AuthenticationFailed,
    NotSupported,
    Unreachable,
)
from strata.controller.actions import BMC_MARK, marks_after
from strata.controller.fallback_bmc import bmc_fallback, bmc_plan
from strata.controller.lifecycle import Action, Event
from strata.lab.simulated import Fleet
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import Topology
from tests.unit.controller.conftest import booting, run_fleet

FIRST = 'bmc: {address: "redfish://{ip:10.0.0.10}/redfish/v1/Systems/1"}'
BOTH = (
    'bmc: {address: "redfish://{ip:10.0.0.10}/redfish/v1/Systems/1", '
    'fallback: {address: "ipmi://{ip:10.1.0.10}"}}'
)


@pytest.fixture
def topo(monkeypatch: pytest.MonkeyPatch) -> Topology:
    return booting("{method: [virtualmedia, ipxe], firmware: bios}", monkeypatch, (FIRST, BOTH))


@pytest.fixture
def fleet(sim_fleet: Fleet) -> Fleet:
    return sim_fleet


def _kinds(store: SQLiteStore, node: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, dict(e.detail)) for e in store.events(node)]


def test_the_plan_keeps_the_fallback(topo: Topology) -> None:
    node = build_plan(topo).nodes[0]
    assert node.bmc_fallback is not None
    assert (node.bmc_address, node.bmc_fallback.address) == (
        "redfish://10.0.0.10/redfish/v1/Systems/1",
        "ipmi://10.1.0.10",
    )
    assert node.bmc_fallback.credentials == node.bmc_credentials  # the node's, unless set
    through = node.through_fallback()
    assert (through.bmc_address, through.bmc_fallback) == ("ipmi://10.1.0.10", None)


def test_an_unreachable_first_bmc_falls_back_and_the_node_provisions(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    dead, fine = "k1-n1", "k1-n2"
    fleet.machines[dead].unreachable = True
    assert run_fleet(topo, store, fleet).ok
    events = _kinds(store, dead)
    (switch,) = [d for k, d in events if k == "bmc-fallback"]
    assert switch == {
        "from": "redfish://10.0.0.10/redfish/v1/Systems/1",
        "to": "ipmi://10.1.0.10",
        "reason": switch["reason"],
    }
    assert "connection refused" in switch["reason"] and "10.0.0.10" in switch["reason"]
    assert store.records()[dead].marks[BMC_MARK] == "ipmi://10.1.0.10"  # a restart keeps it
    assert fleet.machines[dead].power_ons == 1
    # through IPMI there is no virtual CD: the boot went on with the next method, no
    # power-on spent on it
    booted = next(d for k, d in events if k == "state" and d["to"] == "booting")
    assert booted["method"] == "ipxe" and booted["skipped"][0]["method"] == "virtualmedia"
    assert "bmc-fallback" not in [k for k, _ in _kinds(store, fine)]
    assert BMC_MARK not in store.records()[fine].marks


def test_a_first_bmc_whose_driver_cannot_be_made_falls_back(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    node = "k1-n3"
    fleet.machines[node].driver_fault = "credentials unreadable"
    assert run_fleet(topo, store, fleet).ok
    (switch,) = [d for k, d in _kinds(store, node) if k == "bmc-fallback"]
    assert "credentials unreadable" in switch["reason"]


def test_a_failure_after_the_fallback_is_the_nodes_own(topo: Topology) -> None:
    plan = build_plan(topo).nodes[0]
    fault = Unreachable(plan.name, plan.bmc_address, "connection refused")
    switch = bmc_fallback(plan, {}, fault, Action.CHECK_BMC)
    assert switch is not None and switch.event is Event.BMC_FALLBACK
    assert switch.marks is not None
    assert bmc_plan(plan, switch.marks).bmc_address == "ipmi://10.1.0.10"
    assert bmc_fallback(plan, switch.marks, fault, Action.CHECK_BMC) is None  # once
    # none of its boot methods, no such system (a 404): the fallback gets its chance too
    lacking = NotSupported(plan.name, plan.bmc_address, "no boot method left to try")
    assert bmc_fallback(plan, {}, lacking, Action.PREPARE_BOOT) is not None
    assert bmc_fallback(plan, {}, RuntimeError("bug"), Action.CHECK_BMC) is None
    assert bmc_fallback(plan, {}, fault, Action.EJECT_MEDIA) is None  # an eject: only said


def test_refused_credentials_are_not_sent_again_through_the_fallback(topo: Topology) -> None:
    """The same credentials entry (the default): a second bad login, which locks BMC
    accounts; the fallback's own entry is another account, worth its one try."""
    plan = build_plan(topo).nodes[0]
    refused = AuthenticationFailed(plan.name, plan.bmc_address, "HTTP 401")
    assert plan.bmc_fallback is not None
    assert plan.bmc_fallback.credentials == plan.bmc_credentials
    assert bmc_fallback(plan, {}, refused, Action.CHECK_BMC) is None
    other = replace(plan, bmc_fallback=replace(plan.bmc_fallback, credentials="ipmi-admin"))
    assert bmc_fallback(other, {}, refused, Action.CHECK_BMC) is not None


def test_the_fallback_holds_for_the_install_and_a_retry_tries_the_first_again(
    topo: Topology,
) -> None:
    on = {BMC_MARK: "ipmi://10.1.0.10", "attempt": 3}
    for event in (Event.BMC_OK, Event.INSPECTION_PASSED, Event.PROVISION, Event.FALLBACK):
        assert marks_after(event, on)[BMC_MARK] == "ipmi://10.1.0.10", event
    for event in (Event.RETRY, Event.START, Event.REPROVISION):  # a new install
        assert BMC_MARK not in marks_after(event, on), event
    plan = build_plan(topo).nodes[0]
    assert bmc_plan(plan, {BMC_MARK: "ipmi://10.9.9.9"}) is plan  # a fallback since edited


def test_the_kubernetes_store_knows_the_record_it_tells_as_a_warning() -> None:
    """The store may not import the controller: its name for the record is its own copy."""
    from strata.store.kube_records import BMC_FALLBACK

    assert Event.BMC_FALLBACK.value == BMC_FALLBACK
