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

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from lightkube import ApiError, Client

from strata.controller import ApplyOptions, recorded
from strata.controller.manager import Manager
from strata.controller.report import Change
from strata.kube.kubeconfig_load import KubeconfigRefused
from strata.operator.assess import assess, pending
from strata.operator.conditions import StatusWriter, condition
from strata.operator.consent import Consent, consent_of, unknown_nodes
from strata.operator.findings import check_object
from strata.operator.kept import Kept
from strata.operator.moving import Held, Watch, held
from strata.operator.resources import TOPOLOGY
from strata.operator.settings import BesideFor, DriversFor, Face, OpenStore, Seen, Settings
from strata.operator.sharded import ShardStore, shard_plan
from strata.operator.shards import Shards
from strata.plan import Plan, build_plan
from strata.store import Store
from strata.topology import Topology

__all__ = ["Operator", "Settings"]  # Settings: re-exported from strata.operator.settings

log = logging.getLogger("strata.operator")


class Operator:
    """``run(stop)`` until ``stop`` is set; ``healthy()`` for /healthz and /readyz."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        open_store: OpenStore,
        beside: BesideFor,
        drivers: DriversFor,
        shards: Shards,
        face: Face | None = None,
    ) -> None:
        """``face``: the web face each Topology's runs are shown on (None: none)."""
        self.client, self.settings, self.shards, self.face = client, settings, shards, face
        self.open_store, self.beside, self.drivers = open_store, beside, drivers
        self.workers: dict[str, _Worker] = {}
        self._closing: dict[str, _Worker] = {}  # stopping: a worker of the name waits
        shards.on_change = self._replan_all
        shards.busy = lambda: frozenset().union(*(w.running for w in self._all()))
        self.listed = threading.Event()  # the first list answered: /readyz
        self.beat = time.monotonic()  # when the loop last turned: /healthz

    def run(self, stop: threading.Event) -> None:
        """List and sync until ``stop``; the shard Leases renewed beside, given back at
        the end (a replica stopped cleanly hands its shards over at once)."""
        leases = threading.Thread(target=self.shards.run, args=(stop,), name="shards", daemon=True)
        leases.start()
        try:
            while not stop.is_set():
                self.beat = time.monotonic()
                try:
                    self.sync(list(self._list()))
                    self.listed.set()
                except ApiError as err:
                    log.warning("listing Topology objects failed: %s", err.status.message)
                except KubeconfigRefused as err:  # its file replaced by a broken one
                    log.warning("listing Topology objects failed: %s", err)
                stop.wait(self.settings.resync)
        finally:
            every = [*self.workers.values(), *self._closing.values()]
            for worker in every:
                worker.close()
            for worker in every:
                worker.join()
            leases.join(30)
            self.shards.release_all()

    def ready(self) -> str | None:
        """/readyz: None once the Topology objects were listed and the shard leases are
        renewed and this replica holds its share (``Shards.problem``); else what is
        wrong."""
        if not self.listed.is_set():
            return "Topology objects not listed yet"
        return self.shards.problem()

    def _replan_all(self) -> None:
        for worker in list(self.workers.values()):
            worker.replan.set()

    def sync(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """One worker per object: a new generation replans, a deleted object stops. An
        object deleted and made again under its name (another uid) is a new object: a
        new worker, started once the old one's run has stopped (never two runs on one
        topology's servers)."""
        names = set()
        for obj in objects:
            name = obj["metadata"]["name"]
            names.add(name)
            worker = self.workers.get(name)
            if worker is not None and worker.uid != obj["metadata"].get("uid"):
                self._close(name)
                worker = None
            if worker is None or not worker.is_alive():
                worker = self.workers[name] = _Worker(self, obj, self._closing.pop(name, None))
                worker.start()
            else:
                worker.update(obj)
        for name in set(self.workers) - names:
            self._close(name)
        for name, worker in list(self._closing.items()):
            if not worker.is_alive():  # stopped: nothing to wait for
                del self._closing[name]

    def _all(self) -> list[_Worker]:
        """Every worker, those stopping too (their runs still drive servers)."""
        return [*list(self.workers.values()), *list(self._closing.values())]

    def _close(self, name: str) -> None:
        if self.face is not None:
            self.face.hide(name)
        worker = self.workers.pop(name)
        worker.close()
        self._closing[name] = worker

    def _list(self) -> Iterator[dict[str, Any]]:
        for obj in self.client.list(TOPOLOGY, namespace=self.settings.namespace):
            yield obj.to_dict()  # type: ignore[no-untyped-call]


class _Worker(threading.Thread):
    """One Topology: its runs, one at a time, each on the latest generation seen."""

    def __init__(
        self, operator: Operator, obj: Mapping[str, Any], after: _Worker | None = None
    ) -> None:
        name = obj["metadata"]["name"]
        super().__init__(name=f"topology-{name}", daemon=True)
        self.operator, self.name_ = operator, name
        self.uid = obj["metadata"].get("uid")
        self.after = after  # the stopping worker of a former object of the name
        self.latest = obj
        self.status = StatusWriter(operator.client, obj, operator.settings.identity)
        self.replan = threading.Event()  # a new generation, shards moved: the run stops
        self.running: frozenset[int] = frozenset()  # the shards the current run drives
        self._told: set[tuple[int, str]] = set()  # (generation, what) said as an Event
        self._logged: set[tuple[int, str]] = set()  # (generation, failure) logged
        self.kept = Kept()  # the boot side and watches, across runs of one generation
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
        if self.after is not None:
            self.after.join()
            self.after = None
        while not self.closed:
            with self._lock:
                obj = self.latest
                self.replan.clear()
            try:
                self._once(obj)
            except Exception as exc:  # said on the object, tried again at the next resync
                self._failed(obj, exc)
            self.replan.wait(self.operator.settings.resync)
        self.kept.stop()
        if self.operator.face is not None:  # a run that outlived the close may have shown it
            self.operator.face.hide(self.name_)

    def _failed(self, obj: Mapping[str, Any], exc: Exception) -> None:
        """A run's failure: logged with its traceback once per generation and cause (a
        cause that stays, such as a port another Topology's boot service holds, is
        not logged again at every resync), and said on the object."""
        why = f"{type(exc).__name__}: {exc}"
        if (_generation(obj), why) in self._logged:
            log.debug("topology=%s run failed again: %s", self.name_, why)
        else:
            self._logged.add((_generation(obj), why))
            log.exception("topology=%s run failed (said once per generation)", self.name_)
        self._degraded(obj, why)

    def _once(self, obj: Mapping[str, Any]) -> None:
        generation = _generation(obj)
        self.status.muted = 0 not in self.operator.shards.active()  # shard 0's holder writes
        checked = check_object(obj)
        if checked.topology is None:
            self._invalid(generation, checked.errors, checked.omitted)
            return
        consent = consent_of(obj.get("spec") or {})
        warnings = [*checked.warnings, *self._stray(generation, consent, checked.topology)]
        note = f"{len(warnings)} warning(s): " + "; ".join(warnings)
        valid = condition("Valid", True, "Valid", note if warnings else "valid", generation)
        self._run(generation, checked.topology, consent, valid)

    def _stray(self, generation: int, consent: Consent, topology: Topology) -> list[str]:
        """Consent naming no server of the topology, as a warning (and an Event, once
        per generation): a typo there would otherwise allow nothing, silently."""
        unknown = unknown_nodes(consent, (n.name for n in topology.nodes))
        if not unknown:
            return []
        text = (
            f"topologies/{self.name_}: spec.consent.allowReprovision: "
            f"{', '.join(unknown)}: no such server in this topology (allows nothing)"
        )
        if (generation, text) not in self._told:
            self._told.add((generation, text))
            self.status.event(generation, "Warning", "UnknownConsent", text)
        return [text]

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
        settings, shards = self.operator.settings, self.operator.shards
        store = self.operator.open_store(topology.name)
        moving = held(store)
        if moving is not None:  # a move holds the store: nothing driven (docs/pivot.md)
            self._moving(generation, valid, moving, store)
            return
        options = ApplyOptions(
            concurrency=settings.concurrency,
            timeouts=settings.timeouts,
            allow_reprovision=consent.allow_reprovision,
            prune=consent.prune,
            lease_ttl=settings.lease_ttl,
            poll_interval=settings.poll_interval,
            target=settings.target,
        )
        mine = self.running = shards.active()
        try:
            before = recorded(store)
            plan = build_plan(topology, *before)
            counts = ", ".join(f"{n} {k}" for k, n in plan.counts().items() if n)
            planned = condition("Planned", True, "Planned", counts or "nothing to do", generation)
            updates = [valid]
            if self._work(plan, consent, store):
                why = f"to {settings.target}"
                updates += [planned, condition("Progressing", True, "Reconciling", why, generation)]
            elif not self.status.has("Planned", generation):  # settled: the plan said stays
                updates.append(planned)
            self.status.set(generation, *updates)
            self.status.counts(store.summaries, force=True)
            face = None if self.closed else self.operator.face  # closed: its object went
            seen = face.show(topology.name, store, plan) if face is not None else None
            self.kept.keep(generation, lambda: self.operator.beside(plan, topology, store))
            options = dataclasses.replace(options, media_url=self.kept.media_url())
            if mine:
                part = shard_plan(plan, before[0], mine, shards.count)
                with Watch(store, self.replan, settings.resync) as watch:
                    self._reconcile(
                        part, topology, ShardStore(store, mine).as_store(), options, seen
                    )
                moving = watch.seen
        finally:
            self.running = frozenset()
        if moving is not None:  # a move began during the run: it stopped
            self._moving(generation, valid, moving, store)
            return
        self.status.counts(store.summaries, force=True)
        self._report(generation, plan, consent, store)

    def _moving(self, generation: int, valid: Any, moving: Held, store: Store) -> None:
        """A move holds the store's writer lease: ``Progressing`` False with reason
        Moving or Moved and the holder (an Event once per generation and holder), the
        counts still answered. Moved: the boot side stops (the state lives elsewhere)."""
        text = moving.message()
        progressing = condition("Progressing", False, moving.reason, text, generation)
        self.status.set(generation, valid, progressing)
        self.status.counts(store.summaries, force=True)
        if moving.reason == "Moved":
            self.kept.stop()
        if (generation, text) not in self._told:
            self._told.add((generation, text))
            log.info("topology=%s %s", self.name_, text)
            self.status.event(generation, "Normal", moving.reason, text)

    def _reconcile(
        self,
        part: Plan,
        topology: Topology,
        store: Store,
        options: ApplyOptions,
        seen: Seen | None,
    ) -> None:
        """Drive ``part`` (this replica's shards of the plan); the boot side (``kept``)
        serves the whole plan (a machine of any shard may ask this replica); ``seen``:
        what its web face is told."""
        role = f"strata controller {self.operator.settings.identity}"

        def observed(change: Change) -> None:
            self.status.counts(store.summaries)
            if seen is not None:
                seen.moved(change)

        lag = seen.lag if seen is not None else None
        with Manager(store, options, role) as manager, self.operator.drivers(topology) as drivers:
            manager.reconcile(part, drivers, (), observed, self.replan, lag)

    def _work(self, plan: Plan, consent: Consent, store: Store) -> bool:
        """True when the run has something to do: an action no consent holds back, or
        a server not yet settled (at the target, failed, or waiting for consent)."""
        if pending(plan, consent):
            return True
        records = {s.name: s for s in store.summaries()}
        target = str(self.operator.settings.target)
        return not assess(plan, records, consent, target).done

    def _report(self, generation: int, plan: Plan, consent: Consent, store: Store) -> None:
        """Ready, Progressing and Degraded from every server's record (all shards')."""
        if self.status.muted:
            return
        stopped = self.replan.is_set()
        records = {s.name: s for s in store.summaries()}
        target, namespace = str(self.operator.settings.target), self.operator.settings.namespace
        seen = assess(plan, records, consent, target, stopped, namespace)
        progress = "Replanning" if stopped else "Done" if seen.done else "Reconciling"
        failed = seen.failed
        self.status.set(
            generation,
            condition("Progressing", not seen.done, progress, seen.why, generation),
            condition("Ready", seen.ready, seen.reason, seen.why, generation),
            condition(
                "Degraded",
                bool(failed),
                "ServersFailed" if failed else "NoFailures",
                failed or "no server failed",
                generation,
            ),
        )
        held = seen.held
        if held and not stopped and (generation, held) not in self._told:
            self._told.add((generation, held))
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


def _generation(obj: Mapping[str, Any]) -> int:
    return int(obj.get("metadata", {}).get("generation") or 0)
