"""BMC actions on a bounded pool of worker threads, and each rack's power budget.

The reconciler's loop hands a node over (``submit``); a worker runs the node's
action (``actions.BMC_ACTIONS``) and puts the result on a queue the loop drains
(``collect``). Global concurrency is the pool's size; one operation at a time
per BMC is the BMC guard's job; a power-on starts only when its rack's
``PowerGate`` has room, else the node waits, parked, until a power-on of its
rack settles or the stagger delay has passed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from strata.bmc import BMCDriver
from strata.controller import actions
from strata.controller.fallback_bmc import bmc_fallback, driver_plan
from strata.controller.lifecycle import Action
from strata.controller.options import ApplyOptions
from strata.controller.schedule import PowerGate
from strata.controller.tracked import Tracked
from strata.plan import NodePlan, RackPlan, rack_key
from strata.store import Store

__all__ = ["DriverSource", "Result", "Workers"]

Result = tuple[str, int, "actions.Outcome | BaseException"]  # node, generation, outcome


class DriverSource(Protocol):
    """Where the controller gets a node's BMC driver: the BMC ``plan`` names (a removed
    node's recorded plan still names its BMC, to power it off)."""

    def driver_for(self, plan: NodePlan) -> BMCDriver: ...


class Workers:
    def __init__(
        self,
        racks: Iterable[RackPlan],
        drivers: DriverSource,
        store: Store,
        options: ApplyOptions,
    ) -> None:
        self.drivers, self.store, self.options = drivers, store, options
        self.in_flight = 0
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="strata-bmc")
        self._results: queue.SimpleQueue[Result] = queue.SimpleQueue()
        self._gates = {r.key: PowerGate(r) for r in racks}
        self._parked: dict[str, list[str]] = {}
        self._powering: dict[str, str] = {}  # node -> rack key, while its power-on runs
        self._calls: dict[str, threading.Event] = {}  # node -> set: its action called off

    @property
    def full(self) -> bool:
        return self.in_flight >= self.options.concurrency

    def submit(self, t: Tracked, now: float) -> tuple[float, str]:
        """Start the node's action: (0, "") when it started, else (seconds until its rack
        may power on again, inf until one settles; the rack's key), the node parked."""
        if t.action is Action.POWER_ON:
            key = _rack_of(t)
            gate = self._gate(key)
            wait = gate.wait(now)
            if wait > 0:
                self._parked.setdefault(key, []).append(t.name)
                return wait, key
            gate.start(now)
            self._powering[t.name] = key
        self.in_flight += 1
        called_off = self._calls[t.name] = threading.Event()
        self._pool.submit(self._run, t.name, t.generation, self._job(t, called_off.is_set))
        return 0.0, ""

    def call_off(self, name: str) -> None:
        """The node moved on: its action, if it has not reached its BMC yet (a power-on
        waiting for its rack's stagger), does not run (``actions.CalledOff``)."""
        called = self._calls.get(name)
        if called is not None:
            called.set()

    def _gate(self, key: str) -> PowerGate:
        return self._gates.setdefault(key, PowerGate(None))

    def collect(self, timeout: float) -> tuple[list[Result], list[str]]:
        """Results that arrived within ``timeout``, and the nodes a settled power-on unparked."""
        try:
            results = [self._results.get(timeout=timeout)]
        except queue.Empty:
            return [], []
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                break
        unparked: list[str] = []
        for name, _, _ in results:
            self.in_flight -= 1
            self._calls.pop(name, None)
            key = self._powering.pop(name, None)
            if key is not None:
                self._gates[key].done()
                unparked += self.unpark(key)
        return results, unparked

    def unpark(self, key: str) -> list[str]:
        parked, self._parked[key] = self._parked.get(key, []), []
        return parked

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _job(
        self, t: Tracked, called_off: Callable[[], bool] = lambda: False
    ) -> Callable[[], actions.Outcome]:
        """The node's action, bound to copies: workers never read ``t``."""
        perform = actions.BMC_ACTIONS[t.action]
        pace = self._gate(_rack_of(t)).pace
        lifetime, media = self.options.attempt_lifetime, self.options.media_url
        plan = driver_plan(t.plan, t.marks, t.action)  # its fallback BMC, once taken
        work = actions.Work(plan, dict(t.marks), self.store, lifetime, pace, media, called_off)
        drivers, first, action = self.drivers, t.plan, t.action

        def job() -> actions.Outcome:
            try:
                return perform(drivers.driver_for(work.plan), work)
            except Exception as fault:
                switch = bmc_fallback(first, work.marks, fault, action)
                if switch is None:
                    raise
                return switch

        return job

    def _run(self, name: str, generation: int, job: Callable[[], actions.Outcome]) -> None:
        try:
            result: actions.Outcome | BaseException = job()
        except BaseException as exc:  # reported to the loop, which decides
            result = exc
        self._results.put((name, generation, result))


def _rack_of(t: Tracked) -> str:
    return rack_key(t.plan.region, t.plan.zone, t.plan.rack)
