"""BMC actions on a bounded pool of worker threads, and each rack's power budget.

The reconciler's loop hands a node over (``submit``); a worker runs the action
the node's state names and puts the result on a queue the loop drains
(``collect``). Global concurrency is the pool's size; one operation at a time
per BMC is the BMC guard's job; a power-on starts only when its rack's
``PowerGate`` has room, else the node waits, parked, until a power-on of its
rack settles or the stagger delay has passed.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from strata.bmc import BMCDriver
from strata.controller import actions
from strata.controller.lifecycle import State
from strata.controller.schedule import PowerGate
from strata.controller.tracking import ApplyOptions, Tracked
from strata.plan import NodePlan
from strata.store import Store
from strata.topology import BMC, Rack
from strata.topology.addresses import parse_bmc_address

__all__ = ["DriverSource", "Result", "Workers", "powers_on"]

Result = tuple[str, int, "actions.Outcome | BaseException"]  # node, generation, outcome


class DriverSource(Protocol):
    def driver(self, node_name: str, bmc: BMC | None = None) -> BMCDriver: ...


class Workers:
    def __init__(
        self, racks: Iterable[Rack], drivers: DriverSource, store: Store, options: ApplyOptions
    ) -> None:
        self.drivers, self.store, self.options = drivers, store, options
        self.in_flight = 0
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="strata-bmc")
        self._results: queue.SimpleQueue[Result] = queue.SimpleQueue()
        self._gates = {rack_key(r.region, r.zone, r.name): PowerGate(r.power_budget) for r in racks}
        self._parked: dict[str, list[str]] = {}
        self._powering: dict[str, str] = {}  # node -> rack key, while its power-on runs

    @property
    def full(self) -> bool:
        return self.in_flight >= self.options.concurrency

    def submit(self, t: Tracked, now: float) -> tuple[float, str]:
        """Start the node's action: (0, "") when it started, else (seconds until its rack
        may power on again, inf until one settles; the rack's key), the node parked."""
        if powers_on(t):
            key = _rack_of(t)
            gate = self._gate(key)
            wait = gate.wait(now)
            if wait > 0:
                self._parked.setdefault(key, []).append(t.name)
                return wait, key
            gate.start(now)
            self._powering[t.name] = key
        self.in_flight += 1
        self._pool.submit(self._run, t.name, t.generation, self._job(t))
        return 0.0, ""

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

    def _job(self, t: Tracked) -> Callable[[], actions.Outcome]:
        """The action for the node's state, bound to copies: workers never read ``t``."""
        bmc = None if t.node is not None else _recorded_bmc(t.plan)
        state, plan, node, marks, store = t.state, t.plan, t.node, dict(t.marks), self.store
        lifetime, power = self.options.attempt_lifetime, powers_on(t)
        gate = self._gate(_rack_of(t))

        def job() -> actions.Outcome:
            driver = self.drivers.driver(plan.name, bmc)
            if state is State.REGISTERING:
                return actions.check_bmc(driver, bool(marks.get(actions.FIRST_CONTACT)))
            if state is State.INSPECTING:
                assert node is not None
                return actions.inspect(driver, node)
            if state is State.PROVISIONING and power:
                return actions.power_on(driver, plan, marks, store, gate.pace)
            if state is State.PROVISIONING:
                return actions.prepare_install(driver, plan, marks, store, lifetime)
            return actions.power_off(driver)

        return job

    def _run(self, name: str, generation: int, job: Callable[[], actions.Outcome]) -> None:
        try:
            result: actions.Outcome | BaseException = job()
        except BaseException as exc:  # reported to the loop, which decides
            result = exc
        self._results.put((name, generation, result))


def rack_key(region: str, zone: str, rack: str) -> str:
    return f"{region}/{zone}/{rack}"


def _rack_of(t: Tracked) -> str:
    return rack_key(t.plan.region, t.plan.zone, t.plan.rack)


def powers_on(t: Tracked) -> bool:
    """The node's next action is the power-on itself (its boot device is set)."""
    m = t.marks
    return (
        t.state is State.PROVISIONING
        and m.get("attempt") is not None
        and m.get("prepared") == m["attempt"]
        and m.get("powered") != m["attempt"]
    )


def _recorded_bmc(plan: NodePlan) -> BMC:
    """The BMC of a node no longer in topology.yaml, from its recorded plan."""
    return parse_bmc_address(
        plan.bmc_address, None, plan.bmc_credentials, plan.bmc_insecure, plan.bmc_ca_bundle
    )
