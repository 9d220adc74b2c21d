"""The move: preflight, freeze, install, copy, verify, switch, resume — each step done
so that doing it again is harmless, its entry written in the journal after its work
(``strata.pivot.journal``), so a rerun after a crash anywhere resumes.

Writers (docs/pivot.md, "Never two writers"): the source's writer lease is taken by
the move (``frozen``: nothing else acts on it, status still answers) before anything
is written to the target; the target's is taken (``receiving``) before its state is
written; at the switch the target's becomes ``taking-over`` and then the source's
``moved`` (held for years: ``strata apply`` there is refused naming the new place);
resume releases the target's for its controller. No controller can hold either lease
between the freeze and the resume. The source's ``moved`` lease is the commit point:
once it is written nothing is rolled back, and ``--back`` is the way home.

Any failure before it rolls back (``rollback``, docs/pivot.md "Failures"); a target
that cannot be reached then is cleaned by the next run (``cleanup_pending``). Each run
writes its own ``runner`` in the journal: another run still going fails its next
compare-and-swap (``Kept.check`` before each batch of the copy, and before the switch).
"""

from __future__ import annotations

import time
import uuid
from functools import partial

from strata.errors import StrataError
from strata.pivot import copying, failpoints, install, lease, steady
from strata.pivot.between import BetweenClusters
from strata.pivot.digest import differences, inventory
from strata.pivot.ends import FREEZE_TTL, MOVED_TTL, marker, moved_to
from strata.pivot.handback import HandingBack
from strata.pivot.installing import Installing
from strata.pivot.journal import STEPS, Journal, JournalTaken, Kept
from strata.pivot.moving import Options, PivotFailed, PivotRefused
from strata.pivot.preflight import (
    CONTROLLER,
    Finding,
    blocking,
    check_source,
    check_target,
    driving,
    plan_lines,
    target_exists,
    waitable,
)
from strata.pivot.resume import start_controller
from strata.store import KubeStore

__all__ = ["Options", "Pivot", "PivotFailed", "PivotRefused"]


class Pivot(HandingBack, BetweenClusters, Installing):
    def run(self) -> Journal:
        """The whole move (or only its preflight and plan with ``dry_run``). Raises
        ``PivotRefused`` (nothing written), ``PivotFailed`` (rolled back)."""
        earlier = lease.await_free(self.kept, self.say, wait=not self.options.dry_run)
        resuming = earlier is not None and earlier.unfinished
        if resuming and earlier is not None and not earlier.target.same_place(self.target_end):
            raise PivotRefused(
                f"move {earlier.move} to {earlier.target.describe()} is unfinished: run it again or --abort it"
            )
        if earlier is not None and earlier.state == "rolling-back":
            if self.options.dry_run:
                self.say(f"move {earlier.move} is rolling back: not finished by a dry run")
                return earlier
            self.journal = earlier
            self.rollback(earlier.report[0].removeprefix("failed: ") if earlier.report else "?")
            raise PivotFailed("; ".join(earlier.report))
        if self._left_to_clean(earlier):
            assert earlier is not None
            self._clean_after(earlier)
        self.until = time.monotonic() + self.options.wait_steady  # the bound of every wait
        findings = self.preflight(earlier if resuming else None)
        if (
            self.options.wait_steady > 0
            and not self.options.dry_run
            and not resuming
            and waitable(findings)
        ):
            driver = partial(driving, self.source, self.source_end)
            steady.wait(self.source, self.until, self.say, driver=driver)
            findings = self.preflight(None)
        if self.options.dry_run:
            for line in plan_lines(self.source, self.source_end, self.target_end):
                self.say(f"plan {line}")
            return (
                earlier
                if resuming and earlier is not None
                else Journal.new(self.source_end, self.target_end)
            )
        moving = resuming and earlier is not None and earlier.state == "moving"
        held = [t for t in blocking(findings) if not resuming or (moving and CONTROLLER in t)]
        if held:  # a rerun goes on past blocks, but not past a controller: two writers
            raise PivotRefused("; ".join(held))
        if resuming and earlier is not None:
            self.journal = earlier
        else:
            self.journal = Journal.new(self.source_end, self.target_end, self.options.back)
            self.carry_left(earlier)  # a way back: what the move away made in the cluster left
            self.journal.steps["preflight"] = time.time()
            self.kept.write(self.journal)
        return self._steps()

    def preflight(self, journal: Journal | None) -> list[Finding]:
        to_file = self.target_end.kind == "sqlite"
        found = check_source(
            self.source, self.source_end, journal, self.options.allow_failed, to_file
        )
        try:
            if target_exists(self.target_end):  # a state file is made at install, not here
                self._open_target()
            found += check_target(self.target_end, self.target, self.source_end, journal)
            found += self.install_findings()  # the controller's objects, FILE's
        except StrataError as failure:
            found.append(("block", f"target {self.target_end.describe()}: {failure}"))
        found = self.handback_findings(found)  # a way back: the host controller it stops
        for level, text in found:
            self.say(f"preflight {level:5} {text}")
        return found

    def _steps(self) -> Journal:
        assert self.journal is not None
        self.journal.runner = uuid.uuid4().hex[:8]
        self.journal.epoch += 1  # written by compare-and-swap: no two runs share one
        with lease.Heartbeat(self.journal, self.kept, self._write):  # one run at a time
            return self._steps_held()

    def _steps_held(self) -> Journal:
        journal = self.journal
        assert journal is not None
        try:
            self._write()
            self._hold()
            for step in STEPS[1:]:
                if step in journal.steps:
                    continue
                failpoints.reached(f"before:{step}")
                getattr(self, f"_{step}")()
                failpoints.reached(f"after:{step}")
                journal.steps[step] = time.time()
                self._write()
                self.say(f"step {step}: done")
                failpoints.reached(f"journaled:{step}")
        except BaseException as failure:
            if isinstance(failure, JournalTaken):  # the move is another run's: not undone here
                raise
            if self._switched():  # not rolled back; finished by another run meanwhile?
                self.kept.check()  # then JournalTaken says so, not this run's error
                raise
            self.rollback(self.failed(failure))
            if not isinstance(failure, Exception):
                raise
            raise PivotFailed("; ".join(journal.report)) from None
        return journal

    def _hold(self) -> None:
        """A resumed move takes its leases again (``WriterBusy``: rolled back)."""
        journal = self.journal
        assert journal is not None
        if "freeze" in journal.steps and not self._switched():
            self._take_freeze()
        if journal.owned and "switch" not in journal.steps and not self._switched():
            target = self._open_target()
            ours = [marker(r, journal.move, self.source_end) for r in ("receiving", "taking-over")]
            writer = target.writer()
            holder = writer[0] if writer is not None and writer[0] in ours else ours[0]
            target.acquire_writer(holder, FREEZE_TTL)  # the one it held when it stopped

    # -- the steps ---------------------------------------------------------------

    def _freeze(self) -> None:
        """Frozen with every server steady, checked under the freeze (``steady``)."""
        assert self.journal is not None
        frozen = marker("frozen", self.journal.move, self.target_end)
        thaw = partial(self.source.release_writer, frozen)
        steady.freeze_steady(self.source, self._take_freeze, thaw, self.until, self.say)
        self._stop_left_host()  # a way back: the host controller the move away started

    def _take_freeze(self) -> None:
        assert self.journal is not None
        self.source.acquire_writer(marker("frozen", self.journal.move, self.target_end), FREEZE_TTL)

    def _install(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None and self.target_kept is not None
        if isinstance(target, KubeStore):
            made = install.ensure(target.api, self.target_end.namespace)
            crds = sorted({*journal.created.get("crds", []), *made["crds"]})
            namespace = bool(journal.created.get("namespace")) or made["namespace"]
            journal.created = {**journal.created, "namespace": namespace, "crds": crds}
            self.kept.write(journal)
        receiving = marker("receiving", journal.move, self.source_end)
        writer = target.writer()
        holder = writer[0] if writer else None
        if holder not in (None, receiving) and not moved_to(holder, self.source_end):
            raise copying.CopyRefused(f"{holder} holds the target's writer lease")
        if holder is None and not journal.owned and (target.records() or target.events_since(0, 1)):
            raise copying.CopyRefused(
                f"the target already holds state of {self.source_end.topology}: a conflict"
            )
        if holder != receiving:
            journal.prior = holder
            self.kept.write(journal)
        target.acquire_writer(receiving, FREEZE_TTL, replacing=holder)
        journal.owned = True
        self.target_kept = Kept(target)  # read now: a cleaned target may have lost its note
        self._write()
        self._claim_file(target)
        for line in target.clear():  # nothing of this move is there yet: what is, is stale
            self.say(f"install: {line}")
        if isinstance(target, KubeStore):
            self._install_objects(target)  # the controller's, paused; FILE's

    def _copy(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None
        if journal.log_from is None:
            journal.log_from = copying.log_window(self.source, target)
            self._write()
        started = time.monotonic()
        if isinstance(self.source, KubeStore) and isinstance(target, KubeStore):
            self._copy_topology(self.source, target)
        self._claim_file(target)  # a way back: the file's fence (sqlite_move)
        copying.copy_all(self.source, target, journal.log_from, self._history(), self.kept.check)
        self.say(f"copy: {time.monotonic() - started:.1f} s")

    def _verify(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None and journal.log_from is not None
        source = inventory(self.source, self._history(), journal.log_from)
        there = inventory(target, self._history())
        cursors = copying.cursor_map(self.source, target, journal.log_from)
        found = differences(source, there, cursors)
        if isinstance(self.source, KubeStore) and isinstance(target, KubeStore):
            found += self._differences_between(self.source, target)
        if isinstance(target, KubeStore):
            found += self._install_differences(target)
        if found:
            raise copying.CopyRefused("verify: " + "; ".join(found))
        self.say(f"verify: equal on both sides: {source.counts()}, a digest per node equal")

    def _switch(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None
        journal.switch_begun = time.time()
        self._write()  # compare-and-swap: not if --abort or another run took the journal
        receiving = marker("receiving", journal.move, self.source_end)
        target.acquire_writer(
            marker("taking-over", journal.move, self.source_end), FREEZE_TTL, replacing=receiving
        )
        failpoints.reached("switch:target-taken")
        frozen = marker("frozen", journal.move, self.target_end)
        self.source.acquire_writer(
            marker("moved", journal.move, self.target_end), MOVED_TTL, replacing=frozen
        )
        journal.state = "switched"

    def _resume(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None
        target.release_writer(marker("taking-over", journal.move, self.source_end))
        self.leave_source()  # the source's controller stopped before the target's starts
        start_controller(self.options, self.source_end, self.target_end, target)  # resume.py
        journal.state = "done"
        self.say(
            f"the management plane of {self.source_end.topology} now lives in {self.target_end.describe()}"
        )

    def close(self) -> None:
        for store in (self.source, self.target):
            if store is not None:
                store.close()  # type: ignore[attr-defined]
