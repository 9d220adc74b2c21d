"""The in-cluster controller's loop: Topology objects in one namespace, each driven by a
worker thread through the same run ``strata apply`` assembles (``Manager``: the writer
lease, the boot side beside it, the reconciler).

Per Topology and generation: the spec is validated (``Valid``; findings as the
condition's message and as Events, nothing else touched when there is an error), the
plan built against the store's records (``Planned``, with its counts), and the plan
reconciled (``Progressing`` while it runs; ``Ready`` once every server is at the target;
``Degraded`` naming failed servers). What waits for consent is said in ``Ready``'s
message with what to write in ``spec.consent``. An edit (a new generation) stops the
run once its running BMC actions are recorded and starts again on the new plan: the
diff against what the store recorded. A run that ended is started again every
``resync`` seconds (a ``strata retry`` written meanwhile is read then); with nothing to
do it returns at once.

Objects are listed every ``resync`` seconds (a list of Topology objects is small).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError, Client

from strata.controller import ApplyOptions, State, Summary, recorded
from strata.controller.manager import Beside, Manager
from strata.controller.reconciler import DriverSource
from strata.operator.conditions import StatusWriter, condition
from strata.operator.consent import Consent, consent_of, held_message
from strata.operator.findings import check_object
from strata.operator.resources import TOPOLOGY
from strata.plan import Plan, build_plan
from strata.store import Store
from strata.topology import Topology

__all__ = ["Operator", "Settings"]

log = logging.getLogger("strata.operator")

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


class Operator:
    """``run(stop)`` until ``stop`` is set; ``healthy()`` for /healthz and /readyz."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        open_store: OpenStore,
        beside: BesideFor,
        drivers: DriversFor,
    ) -> None:
        self.client, self.settings = client, settings
        self.open_store, self.beside, self.drivers = open_store, beside, drivers
        self.workers: dict[str, _Worker] = {}
        self.listed = threading.Event()  # the first list answered: /readyz
        self.beat = time.monotonic()  # when the loop last turned: /healthz

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.beat = time.monotonic()
                try:
                    self.sync(list(self._list()))
                    self.listed.set()
                except ApiError as err:
                    log.warning("listing Topology objects failed: %s", err.status.message)
                stop.wait(self.settings.resync)
        finally:
            for worker in self.workers.values():
                worker.close()
            for worker in self.workers.values():
                worker.join()

    def sync(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """One worker per object: a new generation replans, a deleted object stops."""
        names = set()
        for obj in objects:
            name = obj["metadata"]["name"]
            names.add(name)
            worker = self.workers.get(name)
            if worker is None or not worker.is_alive():
                worker = self.workers[name] = _Worker(self, obj)
                worker.start()
            else:
                worker.update(obj)
        for name in set(self.workers) - names:
            self.workers.pop(name).close()

    def _list(self) -> Iterator[dict[str, Any]]:
        for obj in self.client.list(TOPOLOGY, namespace=self.settings.namespace):
            yield obj.to_dict()  # type: ignore[no-untyped-call]


class _Worker(threading.Thread):
    """One Topology: its runs, one at a time, each on the latest generation seen."""

    def __init__(self, operator: Operator, obj: Mapping[str, Any]) -> None:
        name = obj["metadata"]["name"]
        super().__init__(name=f"topology-{name}", daemon=True)
        self.operator, self.name_ = operator, name
        self.latest = obj
        self.status = StatusWriter(operator.client, obj, operator.settings.identity)
        self.replan = threading.Event()  # a new generation: the current run stops
        self.closed = False
        self._lock = threading.Lock()

    def update(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            if _generation(obj) != _generation(self.latest):
                self.replan.set()
            self.latest = obj

    def close(self) -> None:
        self.closed = True
        self.replan.set()

    def run(self) -> None:
        while not self.closed:
            with self._lock:
                obj = self.latest
                self.replan.clear()
            try:
                self._once(obj)
            except Exception as exc:  # said on the object, tried again at the next resync
                log.exception("topology=%s run failed", self.name_)
                self._degraded(obj, f"{type(exc).__name__}: {exc}")
            self.replan.wait(self.operator.settings.resync)

    def _once(self, obj: Mapping[str, Any]) -> None:
        generation = _generation(obj)
        checked = check_object(obj)
        if checked.topology is None:
            self._invalid(generation, checked.errors, checked.omitted)
            return
        note = f"{len(checked.warnings)} warning(s): " + "; ".join(checked.warnings)
        valid = condition("Valid", True, "Valid", note if checked.warnings else "valid", generation)
        consent = consent_of(obj.get("spec") or {})
        self._run(generation, checked.topology, consent, valid)

    def _invalid(self, generation: int, errors: Sequence[str], omitted: int) -> None:
        more = f"\n… and {omitted} more" if omitted else ""
        message = "\n".join(errors) + more
        first = not any(
            c["type"] == "Valid" and c.get("observedGeneration") == generation
            for c in self.status.conditions
        )
        self.status.set(
            generation,
            condition("Valid", False, "Invalid", message, generation),
            condition("Planned", False, "Invalid", "no plan: the spec has errors", generation),
            condition("Progressing", False, "Invalid", "nothing touched", generation),
        )
        if first:  # once per generation, not once per resync
            for line in errors:
                self.status.event(generation, "Warning", "Invalid", line)

    def _run(self, generation: int, topology: Topology, consent: Consent, valid: Any) -> None:
        settings = self.operator.settings
        store = self.operator.open_store(topology.name)
        options = ApplyOptions(
            concurrency=settings.concurrency,
            allow_reprovision=consent.allow_reprovision,
            prune=consent.prune,
            lease_ttl=settings.lease_ttl,
            poll_interval=settings.poll_interval,
            target=settings.target,
        )
        role = f"strata controller {settings.identity}"
        with Manager(store, options, role) as manager:
            plan = build_plan(topology, *recorded(store))
            counts = ", ".join(f"{n} {k}" for k, n in plan.counts().items() if n)
            self.status.set(
                generation,
                valid,
                condition("Planned", True, "Planned", counts or "nothing to do", generation),
                condition("Progressing", True, "Reconciling", f"to {settings.target}", generation),
            )
            self.status.counts(store.summaries, force=True)
            beside = self.operator.beside(plan, topology, store)
            with self.operator.drivers(topology) as drivers:
                summary = manager.reconcile(
                    plan,
                    drivers,
                    beside,
                    lambda change: self.status.counts(store.summaries),
                    stop=self.replan,
                )
        self.status.counts(store.summaries, force=True)
        self._report(generation, plan, consent, summary)

    def _report(self, generation: int, plan: Plan, consent: Consent, summary: Summary) -> None:
        stopped = self.replan.is_set()
        held = held_message(plan, consent, summary.held)
        target = self.operator.settings.target
        ready = not stopped and summary.ok and not held
        why = (
            "stopped to replan"
            if stopped
            else held or ("every server " + str(target) if ready else _not_ready(summary))
        )
        reason = (
            "Replanning"
            if stopped
            else "ConsentRequired"
            if held
            else ("AllServersReady" if ready else "NotReady")
        )
        failed = "; ".join(f"{n}: {why}" for n, why in sorted(summary.failed.items()))
        self.status.set(
            generation,
            condition("Progressing", False, "Replanning" if stopped else "Done", why, generation),
            condition("Ready", ready, reason, why, generation),
            condition(
                "Degraded",
                bool(failed),
                "ServersFailed" if failed else "NoFailures",
                failed or "no server failed",
                generation,
            ),
        )
        if held and not stopped:
            self.status.event(generation, "Warning", "ConsentRequired", held)

    def _degraded(self, obj: Mapping[str, Any], why: str) -> None:
        generation = _generation(obj)
        try:
            self.status.set(
                generation,
                condition("Progressing", False, "Error", why, generation),
                condition("Degraded", True, "Error", why, generation),
            )
        except ApiError:
            log.exception("topology=%s status not written", self.name_)


def _not_ready(summary: Summary) -> str:
    counts: dict[str, int] = {}
    for s in summary.states.values():
        counts[s.value] = counts.get(s.value, 0) + 1
    return "servers: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _generation(obj: Mapping[str, Any]) -> int:
    return int(obj.get("metadata", {}).get("generation") or 0)
