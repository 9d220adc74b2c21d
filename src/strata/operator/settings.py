"""What the in-cluster controller is told (`strata controller`'s flags), and the parts
of a run it is handed: each Topology's store, what runs beside its runs, its BMC
drivers, its web face."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from strata.controller import State, Timeouts
from strata.controller.manager import Beside
from strata.controller.reconciler import DriverSource
from strata.controller.report import Change
from strata.plan import Plan
from strata.store import Store
from strata.topology import Topology

__all__ = ["BesideFor", "DriversFor", "Face", "OpenStore", "Seen", "Settings"]

OpenStore = Callable[[str], Store]  # a Topology's name -> the store of its servers
BesideFor = Callable[[Plan, Topology, Store], Sequence[Beside]]  # the boot side, watches
DriversFor = Callable[[Topology], AbstractContextManager[DriverSource]]  # BMC drivers


@dataclass(frozen=True, slots=True)
class Settings:
    namespace: str
    identity: str  # this replica's name (the pod's), in leases and Events
    target: State = State.JOINED
    concurrency: int = 32
    lease_ttl: float = 15.0
    resync: float = 2.0  # seconds between two lists of Topology objects
    poll_interval: float = 0.25
    timeouts: Timeouts = field(default_factory=Timeouts)  # each phase's time limit (--timeout)


@dataclass(frozen=True, slots=True)
class Seen:
    """What a run tells its Topology's web face: each change (its phase timer), and how
    late its loop handled what was due (``ApplyOptions.observe_lag``)."""

    moved: Callable[[Change], None]
    lag: Callable[[str, float], None]


class Face(Protocol):
    """The controller's web face (`--web-listen`): a Topology's face shown over its
    store and plan when a run starts (``Seen``: what the run tells it), hidden when its
    object goes."""

    def show(self, topology: str, store: Store, plan: Plan) -> Seen: ...

    def hide(self, topology: str) -> None: ...
