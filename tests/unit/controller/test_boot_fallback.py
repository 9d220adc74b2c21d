"""boot.method as a list: a BMC that cannot do a method, or a boot by it that never
reaches the installer, moves the node to its next method, said in its events and
bounded by the list (the simulated fleet: exact and fast)."""

from __future__ import annotations

from typing import Any

import pytest

from strata.bmc import BootDevice
from strata.lab.simulated import Fleet
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import Topology
from tests.unit.controller.conftest import booting, run_fleet


@pytest.fixture
def topo(monkeypatch: pytest.MonkeyPatch) -> Topology:
    return booting("{method: [virtualmedia, ipxe], firmware: bios}", monkeypatch)


@pytest.fixture
def fleet(sim_fleet: Fleet) -> Fleet:
    return sim_fleet


def _states(store: SQLiteStore, node: str) -> list[dict[str, Any]]:
    return [dict(e.detail) for e in store.events(node) if e.kind == "state"]


def test_the_plan_lists_the_methods_in_order(topo: Topology) -> None:
    node = build_plan(topo).nodes[0]
    assert (node.boot_method, node.boot_fallbacks) == ("virtualmedia", ("ipxe",))


def test_a_bmc_without_virtual_media_boots_the_next_method(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    lacking, having = "k1-n1", "k1-n2"
    fleet.machines[lacking].virtual_media = False
    assert run_fleet(topo, store, fleet, {"booting": 5.0}).ok
    for name in (lacking, having):
        assert fleet.machines[name].power_ons == 1  # no method cost a power-on
    booted = {
        n: next(s for s in _states(store, n) if s["to"] == "booting") for n in (lacking, having)
    }
    assert booted[lacking]["method"] == "ipxe"
    (skipped,) = booted[lacking]["skipped"]
    assert skipped["method"] == "virtualmedia"
    assert skipped["reason"].endswith(": no virtual CD or DVD drive")  # node, BMC: why
    assert booted[having]["method"] == "virtualmedia" and "skipped" not in booted[having]
    assert fleet.machines[having].media is None  # ejected once installed
    assert "media-ejected" not in [e.kind for e in store.events(lacking)]


def test_a_boot_that_never_comes_falls_back_once_and_the_last_method_fails(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    rescued, lost = "k1-n1", "k1-n2"
    fleet.machines[rescued].dead_boot = BootDevice.CD  # its firmware cannot start the CD
    fleet.machines[lost].dead_boot = BootDevice.CD
    fleet.machines[lost].no_ignition = True  # and its network boot fails too
    summary = run_fleet(topo, store, fleet, {"booting": 0.5})
    assert not summary.ok
    records = {n.name: n for n in store.summaries()}
    assert records[rescued].state == "provisioned"
    (fell,) = [s for s in _states(store, rescued) if s["event"] == "fallback"]
    assert (fell["from"], fell["to"]) == ("booting", "provisioning")
    assert "within 0.5 s of power-on (check its virtual media boot" in fell["reason"]
    assert fell["reason"].endswith("; trying boot method ipxe next")
    assert fleet.machines[rescued].power_ons == 2  # one power-on (or reset) per method
    powered = [(s["attempt"], s["method"]) for s in _states(store, rescued) if s["to"] == "booting"]
    assert powered == [(1, "virtualmedia"), (2, "ipxe")]  # a new attempt: the first's tokens died
    assert (records[lost].state, records[lost].step) == ("failed", "booting")
    assert "check its network boot" in (records[lost].reason or "")  # the last method's words
    assert fleet.machines[lost].power_ons == 2  # bounded by the list
    assert [s["event"] for s in _states(store, lost)].count("fallback") == 1


def test_an_image_the_bmc_refuses_moves_to_the_next_method(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    """A BMC that answers InsertMedia with an error (it cannot read the image): the
    next method, as for a BMC with no virtual CD, and kept at once (``boot-prepared``),
    before the power-on: a restart reads the method taken, never tries the other again."""
    refused = "k1-n1"
    fleet.machines[refused].media_refused = True
    assert run_fleet(topo, store, fleet, {"booting": 5.0}).ok
    events = list(store.events(refused))
    kinds = [e.kind for e in events]
    (prepared,) = [e.detail for e in events if e.kind == "boot-prepared"]
    assert prepared["method"] == "ipxe" and "HTTP 400" in prepared["skipped"][0]["reason"]
    assert kinds.index("boot-prepared") < kinds.index("ipxe-fetched")  # before the power-on
    assert fleet.machines[refused].power_ons == 1


def test_an_image_left_by_a_method_that_failed_is_ejected_at_the_end(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    fell = "k1-n1"
    fleet.machines[fell].dead_boot = BootDevice.CD  # inserted, never booted: fallback to ipxe
    run_fleet(topo, store, fleet, {"booting": 0.5})
    assert store.records()[fell].state == "provisioned"
    assert fleet.machines[fell].media is None
    assert "media-ejected" in [e.kind for e in store.events(fell)]
