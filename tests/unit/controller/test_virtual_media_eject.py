"""The image of a node installed from virtual media is ejected once, whatever happens
between: a controller restarted before the eject ran (to provisioned or to joined), a
driver that cannot even be made. An eject never fails a node nor holds a run open."""

from __future__ import annotations

import pytest

from strata.controller import State
from strata.lab.simulated import Fleet
from strata.store import SQLiteStore
from strata.topology import Topology
from tests.unit.controller.conftest import booting, run_fleet

NODE = "k1-n2"
JOINING = {"joining": 0.3}  # the simulated nodes never join: a short wait for that


@pytest.fixture
def topo(monkeypatch: pytest.MonkeyPatch) -> Topology:
    return booting("{method: virtualmedia, firmware: bios}", monkeypatch)


@pytest.fixture
def fleet(sim_fleet: Fleet) -> Fleet:
    return sim_fleet


def _killed_before_the_eject(store: SQLiteStore, fleet: Fleet) -> None:
    """What a controller killed between the provisioned record and its eject leaves: the
    record without the ``ejected`` mark, the image in the drive."""
    marks = {k: v for k, v in store.records()[NODE].marks.items() if k != "ejected"}
    store.set_marks(NODE, marks)
    fleet.machines[NODE].media = f"http://boot.invalid/media/{NODE}.iso"


@pytest.mark.parametrize("target", [State.PROVISIONED, State.JOINED])
def test_a_restart_before_the_eject_ejects(
    topo: Topology, store: SQLiteStore, fleet: Fleet, target: State
) -> None:
    assert run_fleet(topo, store, fleet, JOINING).ok
    assert fleet.machines[NODE].media is None
    _killed_before_the_eject(store, fleet)
    run_fleet(topo, store, fleet, JOINING, target)  # joined: the nodes never join (failed)
    assert fleet.machines[NODE].media is None
    assert [e.kind for e in store.events(NODE)].count("media-ejected") == 2


def test_an_eject_whose_driver_cannot_be_made_is_said_and_the_run_ends(
    topo: Topology, store: SQLiteStore, fleet: Fleet
) -> None:
    assert run_fleet(topo, store, fleet, JOINING).ok
    _killed_before_the_eject(store, fleet)
    fleet.machines[NODE].driver_fault = "no credentials entry named c"
    assert run_fleet(topo, store, fleet, JOINING).ok  # returns: the node stays provisioned
    (last,) = [e.detail for e in store.events(NODE) if e.kind == "media-ejected"][-1:]
    assert "no credentials entry named c" in last["left-in"]
    assert store.records()[NODE].state == "provisioned"
