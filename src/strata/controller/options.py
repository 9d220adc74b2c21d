"""What a run is told: concurrency, each phase's time limit, the person's consents."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from strata.controller.lifecycle import State

__all__ = ["SEED_HELD", "ApplyOptions", "Timeouts"]

SEED_HELD = (
    "the seed's own machine, running this seed: held until the pivot, then reinstalled "
    "through its BMC by the controller in the cluster"
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds each waiting phase may take before the node fails with a timeout."""

    registering: float = 300.0
    inspecting: float = 600.0
    provisioning: float = 900.0  # boot device, power-on, and waiting for the rack's budget
    booting: float = 1800.0  # power-on until the installer fetched its Ignition config
    installing: float = 3600.0  # until the installer reports the OS written
    joining: float = 1800.0  # installed until its Node is Ready in its layer's cluster
    deprovisioning: float = 600.0

    def of(self, state: State) -> float | None:
        value = getattr(self, state.value, None)
        return float(value) if value is not None else None

    def with_overrides(self, overrides: Mapping[str, float]) -> Timeouts:
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"no phase named {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    concurrency: int = 32  # BMC operations in flight at once, datacenter-wide
    timeouts: Timeouts = field(default_factory=Timeouts)
    allow_reprovision: frozenset[str] = frozenset()
    prune: bool = False
    poll_interval: float = 0.25  # how often the boot service's events are read
    lease_ttl: float = 30.0
    attempt_lifetime: float = 4 * 3600.0  # how long a provisioning attempt's tokens live
    max_backoff: float = 30.0  # cap of the backoff between tries of a transient BMC fault
    # where a run takes every node: provisioned (installed, boots its disk), or joined
    # (Ready in its layer's cluster: installs follow each layer's order, init node first)
    target: State = State.PROVISIONED
    # the machine this run is on (the seed's, `strata apply --seed-node`): never touched,
    # held at declared until the pivot hands it to the cluster's controller (SEED_HELD)
    seed_node: str | None = None
    # where a BMC reads a node's virtual media image: (node, expiry in unix seconds) -> URL,
    # the boot service's /media route (``strata.boot.media.media_url``); None: this run
    # serves no boot service, so a node that boots from virtual media cannot be installed
    media_url: Callable[[str, int], str] | None = None
    # told how late the loop handled what was due (the web face's loop-lag histogram):
    # ("event", seconds from a log entry's writing to its reading) or ("timer", seconds
    # past a timer's due time); None: not measured
    observe_lag: Callable[[str, float], None] | None = None
