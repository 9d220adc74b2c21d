"""The reconciler: drives every node of a plan through the lifecycle table until it
reaches the run's target (provisioned, or joined), fails or waits for a person.

Each transition of the table names an action, and ``_handlers`` maps every ``Action`` to
what performs it (as Metal3's host state machine maps states to handlers); the plan says
what a node at rest goes on to (``intent.plan_intent``). One thread owns the records;
BMC actions run on a bounded pool (``actions.BMC_ACTIONS``) and come back as events.
Each loop: write what changed (a state is stored before its action starts, so a restart
knows what to redo), start actions within the concurrency and each rack's power budget,
collect results, read the news in the store's log (the boot service's, the layers', a
person's), fire timeouts and retries. A restart rebuilds everything from the store."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from strata.bmc import BMCError
from strata.controller import actions
from strata.controller.collector import RunHeap
from strata.controller.cursor import SavedCursor
from strata.controller.inputs import (
    BOOT_EVENTS,
    CLUSTER_EVENTS,
    REQUESTS,
    TIMEOUT_REASONS,
    log_reader,
    on_deadline,
    reason_for,
)
from strata.controller.intent import plan_intent
from strata.controller.layers import CLUSTER_NEWS, Layers
from strata.controller.lease import Lease
from strata.controller.lifecycle import WRITE_BEHIND, Action, Event, IllegalEvent, State, next_step
from strata.controller.options import SEED_HELD, ApplyOptions
from strata.controller.report import Change, Summary, change_of, summarize
from strata.controller.timers import Timers
from strata.controller.tracked import ANY_ATTEMPT, INSTALLED, UNDER_INSTALL, Tracked, tracked_from
from strata.controller.workers import DriverSource, Workers
from strata.controller.writes import Writes
from strata.plan import ChangeKind, Plan
from strata.store import Store

__all__ = ["DriverSource", "Reconciler"]

log = logging.getLogger("strata.controller")
CURSOR = "controller"  # the event log position the controller has read up to


class Reconciler:
    def __init__(
        self,
        plan: Plan,
        store: Store,
        drivers: DriverSource,
        options: ApplyOptions | None = None,
        observer: Callable[[Change], None] | None = None,
        clock: Callable[[], float] = time.time,
        *,
        lease: Lease | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """``plan``: the run's plan, built once by whoever assembles the run and diffed
        against this store (``build_plan(topology, *recorded(store))``); ``lease``: the
        writer lease the run already holds (else taken here for the length of ``run``);
        ``stop``: once set, no new BMC action starts and ``run`` returns when the running
        ones have come back and been recorded (the in-cluster controller's replan)."""
        self.plan, self.store, self.drivers, self.lease = plan, store, drivers, lease
        self._stop, self.options = stop, options or ApplyOptions()
        self.observer, self.clock = observer, clock
        self.nodes: dict[str, Tracked] = {}
        self._unsettled: set[str] = set()
        self._ready: deque[str] = deque()
        lag = self.options.observe_lag  # the web face's loop-lag histogram, if any
        self._timers, self._read = Timers(lag), log_reader(store, lag, clock)
        self._writes, self._cursor = Writes(store), SavedCursor(store, CURSOR, clock=clock)
        self._workers = Workers(plan.racks, drivers, store, self.options)
        self._early: set[str] = set()  # nodes holding boot events that outran their power-on
        self.layers = Layers(plan)
        self._rng = random.Random()
        self._handlers: dict[Action, Callable[[Tracked], None]] = {
            **{action: lambda t: self._ready.append(t.name) for action in actions.BMC_ACTIONS},
            Action.NONE: lambda t: None,
            Action.AWAIT_BOOT: self._replay_early,
            Action.BOOT_FROM_DISK: self._end_attempt,
            Action.RECORD_FAILURE: self._end_attempt,
            Action.HANDS_OFF: self._end_attempt,  # maintenance: no config served
            Action.FALL_BACK: self._fall_back,
            Action.AWAIT_JOIN: lambda t: None,  # the cluster's watch reports node-ready
        }

    # -- the loop -------------------------------------------------------------

    def run(self) -> Summary:
        started = self.clock()
        lease, heap = self.lease or Lease(self.store, self.options.lease_ttl), RunHeap()
        if self.lease is None:
            lease.acquire()
        try:
            self._load()
            heap.settle()  # what is loaded lives as long as the run (collector.py)
            cursor = self._read_events(self._cursor.load())  # what came between runs
            polled = -math.inf
            while True:
                self._flush()
                if self._stop is not None and self._stop.is_set():
                    if not any(t.busy for t in self.nodes.values()):
                        break  # every action started has come back and been recorded
                else:
                    self._dispatch()
                if not self._unsettled:
                    break
                self._collect(self._next_wake(polled))
                if self.clock() - polled >= self.options.poll_interval:
                    polled = self.clock()
                    cursor = self._read_events(cursor)
                self._fire_timers()
                lease.renew()
            self._writes.flush(everything=True)  # records that waited for a next one
            self._cursor.save()
        finally:
            heap.restore()
            self._workers.shutdown()
            if self.lease is None:
                lease.release()
        return summarize(self.nodes.values(), self.clock() - started)

    def _next_wake(self, polled: float) -> float:
        wake, soon = polled + self.options.poll_interval, self._timers.next_at()
        return max(0.0, min(wake, wake if soon is None else soon) - self.clock())

    # -- loading what the store knows --------------------------------------

    def _load(self) -> None:
        records = self.store.records()
        for t, record in tracked_from(self.plan, records):
            self.nodes[t.name] = t
            if record is None:
                t.reason = SEED_HELD if t.name == self.options.seed_node else None  # status
                self._writes.record(t, ("declared", {}), plan=t.plan)
            elif t.intent is ChangeKind.UPDATE or (
                t.intent is ChangeKind.REPROVISION and not t.installed
            ):  # not installed yet: its next install takes the new plan, nothing to redo
                t.intent = ChangeKind.UPDATE
                self._writes.record(t, ("plan-updated", {"changed": list(t.changed)}), plan=t.plan)
            timeout = self.options.timeouts.of(t.state)
            if t.deadline is None and timeout:  # retried while no controller ran
                t.deadline = self.clock() + timeout
            if t.deadline is not None:
                self._timers.add(t.deadline, t.name, t.generation, "deadline")
            self._notify(t, None, "loaded")
        for t in self.nodes.values():
            self._advance(t)
            self._touch(t)

    # -- deciding and transitioning -----------------------------------------

    def _advance(self, t: Tracked) -> None:
        """A node at rest: the loop's own step first (ending an attempt left open), then
        the plan's next event; a BMC step goes on only when the plan asks nothing else."""
        if t.busy or t.held:
            return
        if t.action not in actions.BMC_ACTIONS:
            self._handlers[t.action](t)  # which may start a BMC step (eject-media)
            if t.action not in actions.BMC_ACTIONS:
                self._consider(t)
        elif not self._consider(t):
            self._handlers[t.action](t)

    def _consider(self, t: Tracked) -> bool:
        """Feed the plan's next event for ``t`` (or hold it); False when the plan asks
        nothing of it now."""
        if t.busy or t.held:
            return False
        intent = plan_intent(t, self.options, lambda n: self.layers.gate(n, self.nodes))
        waits = t.state is State.READY and not isinstance(intent, tuple) and not t.removed
        if waits:  # at its layer's gate (or held there): looks again when the gate moves
            self.layers.wait(t)
        if isinstance(intent, str):
            self._hold(t, intent)
        elif intent is not None:
            event, detail = intent
            if event is Event.REPROVISION and t.intent is ChangeKind.REPROVISION:
                t.intent = ChangeKind.UPDATE  # consented: the new plan is recorded first
                self._writes.record(t, ("plan-updated", {"changed": list(t.changed)}), plan=t.plan)
            self._feed(t, event, None, detail)
        return intent is not None

    def _feed(
        self,
        t: Tracked,
        event: Event,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        try:
            step = next_step(t.state, event, t.marks)
        except IllegalEvent as exc:
            log.debug("node=%s ignored: %s", t.name, exc)
            return False
        before = t.state
        if step.next is before:  # a step inside a phase: no new record, the timeout runs on
            if step.action is not Action.NONE:
                t.action = step.action
                self._handlers[t.action](t)
            return True
        now = self.clock()
        t.marks = actions.marks_after(event, t.marks, before)
        self._workers.call_off(t.name)  # a power-on still waiting for its rack: not now
        t.state, t.generation, t.tries, t.last_error = step.next, t.generation + 1, 0, None
        if before is State.PROVISIONING and t.state is not State.BOOTING:
            t.early = []  # failed or moved on: what the machine said no longer counts
        timeout = self.options.timeouts.of(t.state)
        t.deadline = now + timeout if timeout else None
        t.step, t.reason = (before.value, reason or str(event)) if t.stopped else (None, None)
        info = {"from": before.value, "to": t.state.value, "event": event.value, **(detail or {})}
        if t.reason or reason:  # a failure's, or why the node moved on (a fallback)
            info["reason"] = t.reason or reason
        self._writes.record(t, ("state", info), wait=(before, event) in WRITE_BEHIND)
        if t.deadline is not None:
            self._timers.add(t.deadline, t.name, t.generation, "deadline")
        self._notify(t, before, event.value)
        t.action = step.action
        self._handlers[t.action](t)
        if t.action not in actions.BMC_ACTIONS:  # done in the loop: the plan's next event
            self._consider(t)
        self._touch(t)
        for layer in self.layers.affected_by(t, before):
            self._reopen(layer)
        return True

    def _reopen(self, layer: str | None) -> None:
        """The layer's gate may have moved: its waiting nodes look again."""
        for name in self.layers.wake(layer, self.nodes) if layer is not None else ():
            t = self.nodes[name]
            t.held = None  # a gate that could not open may open now
            self._advance(t)
            self._touch(t)

    # -- the loop's own actions (BMC actions are queued for the workers) ----------

    def _replay_early(self, t: Tracked) -> None:
        """Boot events that arrived before the power-on's result, fed now, in order."""
        early, t.early = t.early, []
        for _, attempt, event in early:
            if attempt in (ANY_ATTEMPT, t.marks.get("attempt")):
                self._feed(t, event)

    def _end_attempt(self, t: Tracked) -> None:
        """The node's attempt ends (if open) with the record saying why (``writes``):
        provisioned, it boots its disk (its virtual media ejected); failed, its tokens die."""
        self._writes.end_attempt(t.name, provisioned=t.state is State.PROVISIONED)
        if t.state is State.PROVISIONED and actions.needs_eject(t.plan, t.marks):
            t.action = Action.EJECT_MEDIA  # a BMC step: the plan's next event waits for it
            self._ready.append(t.name)

    def _fall_back(self, t: Tracked) -> None:
        """The next boot method: the attempt ends with this record; its boot is prepared anew."""
        self._writes.end_attempt(t.name, provisioned=False)
        t.action = Action.PREPARE_BOOT
        self._ready.append(t.name)

    def _hold(self, t: Tracked, why: str) -> None:
        t.held = why
        self._notify(t, t.state, "held")
        self._touch(t)
        for layer in self.layers.affected_by(t):  # a held init node holds its layer's gate
            self._reopen(layer)

    # -- running BMC actions ------------------------------------------------

    def _dispatch(self) -> None:
        now = self.clock()
        while self._ready and not self._workers.full:
            t = self.nodes[self._ready.popleft()]
            if t.busy or t.held or t.action not in actions.BMC_ACTIONS:
                continue
            wait, rack = self._workers.submit(t, now)
            if wait == 0:
                t.busy = True
                self._touch(t)
            elif wait != math.inf:
                self._timers.add(now + wait, rack, 0, "wake")

    def _collect(self, timeout: float) -> None:
        results, unparked = self._workers.collect(timeout)
        self._ready.extend(unparked)
        for result in results:
            self._settle(*result)

    def _settle(self, name: str, generation: int, result: actions.Outcome | BaseException) -> None:
        t = self.nodes[name]
        t.busy = False
        if t.action is Action.EJECT_MEDIA and not isinstance(result, actions.Outcome):
            result = actions.left_in(t.marks, result)  # never fails the node, nor retried
        if generation != t.generation:  # the node moved on (a timeout, a person) meanwhile
            if t.state not in UNDER_INSTALL:  # an attempt the action opened serves no install
                self._writes.end_attempt(t.name, provisioned=t.state in INSTALLED)
            self._advance(t)
        elif isinstance(result, actions.Outcome) and result.event is Event.MEDIA_EJECTED:
            t.marks, t.action = dict(result.marks or t.marks), Action.NONE
            self._writes.record(t, ("media-ejected", dict(result.detail)))  # its mark kept
            self._advance(t)
        elif isinstance(result, actions.Outcome):
            t.marks = dict(result.marks) if result.marks is not None else t.marks
            if result.record is not None:  # written before the next step starts (_flush)
                self._writes.record(t, result.record)
            self._feed(t, result.event, result.reason, result.detail)
        elif isinstance(result, BMCError) and result.transient:
            t.tries += 1
            t.last_error = str(result)
            delay = self._rng.uniform(0, min(self.options.max_backoff, 2.0**t.tries))
            self._timers.add(self.clock() + delay, name, t.generation, "retry")
        elif isinstance(result, BMCError):
            self._feed(t, Event.BMC_FAILED, str(result))
        else:
            log.error("node=%s action failed unexpectedly", name, exc_info=result)
            self._feed(t, Event.BMC_FAILED, f"unexpected error: {result!r}")
        self._touch(t)

    # -- events, timers, records ------------------------------------------

    def _read_events(self, cursor: int) -> int:
        events = self._read(cursor)  # the entries it acts on
        for e in events:
            t = self.nodes.get(e.node)
            if t is None:
                continue
            if e.kind in REQUESTS:  # a person's request; ignored unless the table allows it
                self._feed(t, REQUESTS[e.kind], e.detail.get("reason"))  # maintenance's
                continue
            if e.kind in CLUSTER_EVENTS:  # a node Ready in its layer's cluster
                if t.state is State.PROVISIONING:  # after the boot events held back
                    t.early.append((e.id, ANY_ATTEMPT, CLUSTER_EVENTS[e.kind]))
                    self._early.add(t.name)
                else:
                    self._feed(t, CLUSTER_EVENTS[e.kind])
                continue
            if e.kind in CLUSTER_NEWS:  # seen NotReady; a layer's API answering, or not
                self._reopen(self.layers.news(t, e.kind, e.detail))
                continue
            event = BOOT_EVENTS.get(e.kind)
            if event is None:
                continue
            if t.state is State.PROVISIONING:  # the machine outran the power-on's result
                t.early.append((e.id, e.detail.get("attempt"), event))
                self._early.add(t.name)
            elif e.detail.get("attempt") == t.marks.get("attempt"):
                self._feed(t, event, reason_for(event, e.detail))
        if events:
            self._flush()
            requested = any(e.kind in REQUESTS for e in events)  # saved at once
            # a restart resumes before any event held back (in memory only) for a node
            # whose power-on has not reported yet
            self._early = {n for n in self._early if self.nodes[n].early}
            held = [self.nodes[n].early[0][0] - 1 for n in self._early]
            self._cursor.advance(min([events[-1].id, *held]), requested)
            return events[-1].id
        return cursor

    def _fire_timers(self) -> None:
        for name, generation, kind in self._timers.due(self.clock()):
            if kind == "wake":
                self._ready.extend(self._workers.unpark(name))
                continue
            t = self.nodes[name]
            if generation != t.generation or t.settled(self.options.target):
                continue
            if kind == "retry":
                self._ready.append(name)
            elif kind == "deadline" and t.state in TIMEOUT_REASONS:
                timeout = self.options.timeouts.of(t.state) or 0
                self._feed(t, *on_deadline(t, timeout, self.layers.join_seen))

    def _flush(self) -> None:
        for name in self._writes.flush():
            self._reread(name)

    def _reread(self, name: str) -> None:
        record = self.store.records()[name]
        t = self.nodes[name]
        t.state, t.version, t.marks = State(record.state), record.version, dict(record.marks)
        t.step, t.reason, t.held = record.step, record.reason, None
        t.action, t.generation = actions.resume_action(t.state, t.marks), t.generation + 1
        self._notify(t, None, "reread")
        self._advance(t)
        self._touch(t)

    def _touch(self, t: Tracked) -> None:
        (self._unsettled.discard if t.settled(self.options.target) else self._unsettled.add)(t.name)

    def _notify(self, t: Tracked, before: State | None, event: str) -> None:
        if self.observer is not None:
            self.observer(change_of(t, before, event, self.clock()))
