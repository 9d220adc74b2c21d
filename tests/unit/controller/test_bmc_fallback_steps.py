"""bmc.fallback, step by step through the workers' jobs: what the first BMC did before
it failed is not lost or repeated through the fallback — a power-on that went through
gets a new attempt for its reset, an image inserted before a fault is ejected where it
is. Two BMCs at the driver interface, the real store (its attempts and tokens)."""

from __future__ import annotations

from typing import Any

import pytest

from strata.bmc import Capability, NotSupported, PowerAction, PowerState, Unreachable
from strata.controller import ApplyOptions
from strata.controller.actions import BMC_MARK, MAY_RESET, MEDIA, needs_eject
from strata.controller.lifecycle import Action, Event, State
from strata.controller.tracked import Tracked
from strata.controller.workers import Workers
from strata.plan import ChangeKind, NodePlan, build_plan
from strata.provisioning import Stage
from strata.store import SQLiteStore
from strata.topology import Topology
from tests.unit.controller.conftest import booting, media_url
from tests.unit.controller.test_bmc_fallback import BOTH, FIRST


@pytest.fixture
def topo(monkeypatch: pytest.MonkeyPatch) -> Topology:
    return booting("{method: [virtualmedia, ipxe], firmware: bios}", monkeypatch, (FIRST, BOTH))


class _BMC:
    """A BMC behind the driver interface. ``timeout_power``/``timeout_boot``: the call
    takes effect, its answer times out (as a Redfish service under load does)."""

    def __init__(
        self, name: str, *, media: bool, on: bool = False, timeout_power: bool = False,
        timeout_boot: bool = False, refuse_power: bool = False,
    ) -> None:  # fmt: skip
        caps = {Capability.POWER, Capability.BOOT_DEVICE}
        self.capabilities = frozenset(caps | ({Capability.VIRTUAL_MEDIA} if media else set()))
        self.name, self.media, self.on, self.calls = name, media, on, list[Any]()
        self.timeout_power, self.timeout_boot = timeout_power, timeout_boot
        self.refuse_power = refuse_power

    def power_state(self) -> PowerState:
        return PowerState.ON if self.on else PowerState.OFF

    def insert_media(self, url: str) -> None:
        if not self.media:
            raise NotSupported("n", self.name, "no virtual CD or DVD drive")
        self.calls.append("insert")

    def set_boot_device(self, *args: object, **kwargs: object) -> None:
        self.calls.append("boot")
        if self.timeout_boot:
            raise Unreachable("n", self.name, "read timed out")

    def power(self, action: PowerAction) -> PowerState:
        self.calls.append(action)
        if self.refuse_power:
            raise Unreachable("n", self.name, "HTTP 400: ResetType not allowed")
        self.on = True
        if self.timeout_power:
            raise Unreachable("n", self.name, "read timed out")
        return PowerState.ON

    def eject_media(self) -> None:
        self.calls.append("eject")


class _Both:
    def __init__(self, first: _BMC, fallback: _BMC) -> None:
        self.first, self.fallback = first, fallback

    def driver_for(self, plan: NodePlan) -> _BMC:
        return self.first if plan.bmc_address.startswith("redfish") else self.fallback


def _step(workers: Workers, t: Tracked, action: Action) -> Any:
    t.action = action
    out = workers._job(t)()
    t.marks = dict(out.marks) if out.marks is not None else t.marks
    return out


def _node(topo: Topology, marks: dict[str, Any], state: State = State.PROVISIONING) -> Tracked:
    plan = build_plan(topo).nodes[0]
    return Tracked(plan.name, plan, ChangeKind.CREATE, state, 1, marks=marks)


def _workers(store: SQLiteStore, drivers: _Both) -> Workers:
    return Workers([], drivers, store, ApplyOptions(media_url=media_url))


def test_a_reset_refused_by_the_first_bmc_is_made_through_the_fallback(
    topo: Topology, store: SQLiteStore
) -> None:
    """A consented reinstall of a running server: the power-on opened the attempt, then
    the reset failed through Redfish; through IPMI the boot is set and the machine reset,
    not taken as powered on for that attempt."""
    first, fallback = (
        _BMC("rf", media=False, on=True, refuse_power=True),
        _BMC("ipmi", media=False, on=True),
    )
    workers, t = (
        _workers(store, _Both(first, fallback)),
        _node(topo, {MAY_RESET: True, "method": 1}),
    )
    assert _step(workers, t, Action.PREPARE_BOOT).event is Event.BOOT_PREPARED
    assert _step(workers, t, Action.POWER_ON).event is Event.BMC_FALLBACK
    assert "prepared" not in t.marks  # a restarted controller prepares the boot again too
    assert _step(workers, t, Action.PREPARE_BOOT).event is Event.BOOT_PREPARED  # not resumed
    assert _step(workers, t, Action.POWER_ON).event is Event.POWERED_ON
    assert (first.calls, fallback.calls) == (
        ["boot", PowerAction.RESET],
        ["boot", PowerAction.RESET],
    )


def test_a_power_on_that_went_through_is_reset_into_a_new_attempt(
    topo: Topology, store: SQLiteStore
) -> None:
    """Redfish's power-on took effect and its answer timed out: the machine may have
    fetched its config (a single-use token spent); the fallback's reset ends that attempt
    and opens another, whose tokens are whole."""
    first, fallback = _BMC("rf", media=False, timeout_power=True), _BMC("ipmi", media=False)
    workers, t = _workers(store, _Both(first, fallback)), _node(topo, {"method": 1})
    assert _step(workers, t, Action.PREPARE_BOOT).event is Event.BOOT_PREPARED
    assert _step(workers, t, Action.POWER_ON).event is Event.BMC_FALLBACK
    spent = store.attempt(t.name)
    assert spent is not None and store.consume(t.name, spent.number, Stage.LIVE)
    fallback.on = True  # what the first BMC's call did, seen through the second
    assert _step(workers, t, Action.PREPARE_BOOT).event is Event.BOOT_PREPARED
    out = _step(workers, t, Action.POWER_ON)
    assert out.detail["power"] == "reset" and out.marks["attempt"] != spent.number
    assert store.consume(t.name, out.marks["attempt"], Stage.LIVE)


def test_an_image_inserted_before_a_fault_is_ejected_where_it_is(
    topo: Topology, store: SQLiteStore
) -> None:
    """Redfish inserted the image, then its boot override timed out: through IPMI (no
    virtual CD) the node boots iPXE, and the image is ejected through Redfish."""
    first, fallback = _BMC("rf", media=True, timeout_boot=True), _BMC("ipmi", media=False)
    workers, t = _workers(store, _Both(first, fallback)), _node(topo, {})
    assert _step(workers, t, Action.PREPARE_BOOT).event is Event.BMC_FALLBACK
    assert _step(workers, t, Action.PREPARE_BOOT).event is Event.BOOT_PREPARED
    t.marks["attempt"] = 1
    assert needs_eject(t.plan, t.marks)
    t.state = State.PROVISIONED
    assert _step(workers, t, Action.EJECT_MEDIA).event is Event.MEDIA_EJECTED
    assert first.calls == ["insert", "boot", "eject"] and "eject" not in fallback.calls


@pytest.mark.parametrize("held_by", ["first", "older state"])
def test_an_image_the_first_bmc_holds_is_ejected_there(
    topo: Topology, store: SQLiteStore, held_by: str
) -> None:
    """``media`` names the BMC that holds the image; a state from before fallback BMCs
    says ``True`` (there was only the first)."""
    first, fallback = _BMC("rf", media=True), _BMC("ipmi", media=False)
    workers, t = _workers(store, _Both(first, fallback)), _node(topo, {}, State.PROVISIONED)
    assert t.plan.bmc_fallback is not None
    held = t.plan.bmc_address if held_by == "first" else True
    t.marks = {MEDIA: held, "attempt": 1, BMC_MARK: t.plan.bmc_fallback.address}
    assert _step(workers, t, Action.EJECT_MEDIA).event is Event.MEDIA_EJECTED
    assert (first.calls, fallback.calls) == (["eject"], [])
