"""What the controller's tests share: a state file of their own per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.controller import ApplyOptions, Reconciler, Summary, recorded
from strata.controller.lifecycle import State
from strata.lab.generated import generated_text
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import Topology, check_text

FAST_BOOT = FleetSettings(
    latency=(0.001, 0.002), boot_seconds=(0.05, 0.1), install_seconds=(0.05, 0.1)
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "state.db")
    yield s
    s.close()


def booting(boot: str, monkeypatch: pytest.MonkeyPatch, *edits: tuple[str, str]) -> Topology:
    """The generated simulation topology (3 workers, a control plane) with ``boot`` (a
    YAML mapping, e.g. ``{method: [virtualmedia, ipxe], firmware: bios}``) by default,
    and each of ``edits`` (old text, new text) made to it."""
    monkeypatch.setenv("PW", "pw")
    text = generated_text(1, 3).replace(
        "  installDisk: /dev/vda\n", f"  installDisk: /dev/vda\n  boot: {boot}\n", 1
    )
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    checked = check_text(text, "t.yaml")
    assert checked.topology is not None, [d.message for d in checked.errors]
    return checked.topology


@pytest.fixture
def sim_fleet(topo: Topology, store: SQLiteStore) -> Iterator[Fleet]:
    """The simulated fleet of the test's ``topo`` fixture, near-zero latencies."""
    made = Fleet(topo, store, FAST_BOOT)
    yield made
    made.close()


def media_url(node: str, expires: int) -> str:
    """Where a run's boot service would serve ``node``'s virtual media image."""
    return f"http://boot.invalid/media/{node}.iso"


def run_fleet(
    topo: Topology,
    store: SQLiteStore,
    fleet: Fleet,
    timeouts: dict[str, float] | None = None,
    target: State = State.PROVISIONED,
) -> Summary:
    """One reconciler run of ``topo`` over the simulated ``fleet``, polling fast, with a
    boot service's media links (``media_url``) and phase ``timeouts`` (s) overridden."""
    options = ApplyOptions(
        poll_interval=0.01,
        target=target,
        timeouts=ApplyOptions().timeouts.with_overrides(timeouts or {}),
        media_url=media_url,
    )
    return Reconciler(build_plan(topo, *recorded(store)), store, fleet, options).run()
