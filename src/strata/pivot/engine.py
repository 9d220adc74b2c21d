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
from collections.abc import Callable
from dataclasses import dataclass

from strata.errors import StrataError
from strata.pivot import copying, credentials, failpoints, install
from strata.pivot.digest import differences, inventory
from strata.pivot.ends import FREEZE_TTL, MOVED_TTL, End, marker, moved_to
from strata.pivot.journal import STEPS, Journal, Kept
from strata.pivot.preflight import (
    CONTROLLER,
    Finding,
    blocking,
    check_source,
    check_target,
    plan_lines,
    target_exists,
)
from strata.store import KubeStore, MovableStore

__all__ = ["Options", "Pivot", "PivotFailed", "PivotRefused"]


class PivotRefused(StrataError):
    """Preflight found what stops the move; nothing was written."""

    kind = "pivot-refused"
    exit_code = 1


class PivotFailed(StrataError):
    """A step failed before the switch: the move was rolled back (the report says how)."""

    kind = "pivot-failed"
    exit_code = 1


@dataclass
class Options:
    dry_run: bool = False
    allow_failed: bool = False
    back: bool = False  # this move is a way back (``--back``): said in its journal
    say: Callable[[str], None] = print


class Pivot:
    def __init__(self, source: End, target: End, options: Options) -> None:
        self.source_end, self.target_end, self.options = source, target, options
        self.say = options.say
        self.source: MovableStore = source.open()
        self.kept = Kept(self.source)
        self.target: MovableStore | None = None
        self.target_kept: Kept | None = None
        self.journal: Journal | None = None

    def run(self) -> Journal:
        """The whole move (or only its preflight and plan with ``dry_run``). Raises
        ``PivotRefused`` (nothing written), ``PivotFailed`` (rolled back)."""
        earlier = self.kept.read()
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
        findings = self.preflight(earlier if resuming else None)
        for level, text in findings:
            self.say(f"preflight {level:5} {text}")
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
            self.journal.steps["preflight"] = time.time()
            self.kept.write(self.journal)
        return self._steps()

    def preflight(self, journal: Journal | None) -> list[Finding]:
        found = check_source(self.source, self.source_end, journal, self.options.allow_failed)
        try:
            if target_exists(self.target_end):  # a state file is made at install, not here
                self._open_target()
            found += check_target(self.target_end, self.target, self.source_end, journal)
        except StrataError as failure:
            found.append(("block", f"target {self.target_end.describe()}: {failure}"))
        return found

    def _open_target(self) -> MovableStore:
        if self.target is None:
            self.target = self.target_end.open()
            self.target_kept = Kept(self.target)
        return self.target

    def _steps(self) -> Journal:
        journal = self.journal
        assert journal is not None
        try:
            journal.runner = uuid.uuid4().hex[:8]
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
            if self._switched():
                raise
            self.rollback(f"{type(failure).__name__}: {failure}")
            if not isinstance(failure, Exception):
                raise
            raise PivotFailed("; ".join(journal.report)) from None
        return journal

    def _write(self) -> None:
        assert self.journal is not None
        self.kept.write(self.journal)
        if self.journal.owned and self.target_kept is not None:
            self.target_kept.write(self.journal)

    def _hold(self) -> None:
        """A resumed move takes its leases again (``WriterBusy``: rolled back)."""
        journal = self.journal
        assert journal is not None
        if "freeze" in journal.steps and not self._switched():
            self._freeze()
        if journal.owned and "switch" not in journal.steps and not self._switched():
            target = self._open_target()
            ours = [marker(r, journal.move, self.source_end) for r in ("receiving", "taking-over")]
            writer = target.writer()
            holder = writer[0] if writer is not None and writer[0] in ours else ours[0]
            target.acquire_writer(holder, FREEZE_TTL)  # the one it held when it stopped

    # -- the steps ---------------------------------------------------------------

    def _freeze(self) -> None:
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
        target.clear()  # nothing of this move is there yet: what is, is stale

    def _copy(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None
        if journal.log_from is None:
            journal.log_from = copying.log_window(self.source, target)
            self._write()
        started = time.monotonic()
        if isinstance(self.source, KubeStore) and isinstance(target, KubeStore):
            self._copy_topology(self.source, target)
        copying.copy_all(self.source, target, journal.log_from, self._history(), self.kept.check)
        self.say(f"copy: {time.monotonic() - started:.1f} s")

    def _copy_topology(self, source: KubeStore, target: KubeStore) -> None:
        """The Topology object, then the Secrets it refers to (BMC passwords)."""
        journal, ends = self.journal, (self.source_end.namespace, self.target_end.namespace)
        assert journal is not None
        if install.copy_topology(source.api, target.api, ends, self.source_end.topology):
            journal.created = {**journal.created, "topology": True}
            self._write()
        made = credentials.copy_secrets(source.api, target.api, self._refs(), ends)
        if made:
            journal.created = {
                **journal.created,
                "secrets": [*journal.created.get("secrets", []), *made],
            }
            self._write()

    def _refs(self) -> list[tuple[str, str, str]]:
        if not isinstance(self.source, KubeStore):
            return []
        name, namespace = self.source_end.topology, self.source_end.namespace
        found = install.topology_object(self.source.api, namespace, name) or {}
        return credentials.references(found.get("spec") or {}, namespace)

    def _verify(self) -> None:
        journal, target = self.journal, self._open_target()
        assert journal is not None and journal.log_from is not None
        source = inventory(self.source, self._history(), journal.log_from)
        there = inventory(target, self._history())
        cursors = copying.cursor_map(self.source, target, journal.log_from)
        found = differences(source, there, cursors)
        if isinstance(self.source, KubeStore) and isinstance(target, KubeStore):
            name, ends = (
                self.source_end.topology,
                (self.source_end.namespace, self.target_end.namespace),
            )
            objects = [
                install.topology_object(s.api, ns, name)
                for s, ns in zip((self.source, target), ends, strict=True)
            ]
            if (objects[0] or {}).get("spec") != (objects[1] or {}).get("spec"):
                found.append(f"the Topology object {name}'s spec differs")
            refs, same = self._refs(), (ends[0], ends[0])
            if credentials.digests(self.source.api, refs, same) != credentials.digests(
                target.api, refs, ends
            ):
                found.append("the Secrets the Topology refers to differ")
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
        journal.state = "done"
        self.say(
            f"the management plane of {self.source_end.topology} now lives in {self.target_end.describe()}"
        )

    def _history(self) -> bool:
        return self.source_end.kind == self.target_end.kind == "kube"

    def _switched(self) -> bool:
        assert self.journal is not None
        writer = self.source.writer()
        return writer is not None and writer[0] == marker(
            "moved", self.journal.move, self.target_end
        )

    # -- rollback ----------------------------------------------------------------

    def rollback(self, reason: str) -> None:
        """Undo a move that has not switched (see the module's docstring)."""
        journal = self.journal
        assert journal is not None
        journal.report = [f"failed: {reason}"]
        journal.state = "rolling-back"  # a crash from here on: the rerun rolls back
        self.kept.write(journal)
        try:
            self._undo_target(journal)
            failpoints.reached("rollback:target-cleaned")
            journal.report.append(f"target {self.target_end.describe()}: the move's state removed")
        except Exception as failure:
            journal.cleanup_pending = True
            journal.report.append(
                f"target {self.target_end.describe()} not cleaned ({type(failure).__name__}: {failure}): "
                "the next strata pivot to it cleans it first"
            )
        self.source.release_writer(marker("frozen", journal.move, self.target_end))
        journal.report.append(f"source {self.source_end.describe()}: unfrozen, in charge as before")
        journal.state = "rolled-back"
        self.kept.write(journal)
        for line in journal.report:
            self.say(f"rollback: {line}")

    def _undo_target(self, journal: Journal) -> None:
        target = self._open_target() if target_exists(self.target_end) else None
        if target is None:
            return
        if journal.owned:
            target.clear()
            if isinstance(target, KubeStore):  # clear() keeps it: a secret the move wrote
                install.remove_token_key(
                    target.api, self.target_end.namespace, journal.target.topology
                )
            held = [marker(r, journal.move, self.source_end) for r in ("receiving", "taking-over")]
            if journal.prior is not None:
                current = target.writer()
                replacing = current[0] if current and current[0] in held else None
                target.acquire_writer(journal.prior, MOVED_TTL, replacing=replacing)
            for holder in held:
                target.release_writer(holder)
            journal.owned = False
            if self.target_kept is not None:
                self.target_kept.write(journal)
        if isinstance(target, KubeStore) and journal.created:
            kept = install.remove(
                target.api, self.target_end.namespace, journal.created, journal.target.topology
            )
            if kept:
                journal.report.append(
                    f"{', '.join(kept)} kept: in use by objects the move did not make"
                )
            journal.created = {}
        journal.cleanup_pending = False

    def _left_to_clean(self, earlier: Journal | None) -> bool:
        """A rolled-back move whose target could not be cleaned then, to this target."""
        if earlier is None or not earlier.cleanup_pending or self.options.dry_run:
            return False
        return earlier.target.same_place(self.target_end)

    def _clean_after(self, earlier: Journal) -> None:
        """A rolled-back move whose target could not be cleaned then: clean it now."""
        self.journal = earlier
        self._undo_target(earlier)
        earlier.report.append(f"target {self.target_end.describe()}: cleaned by a later run")
        self.kept.write(earlier)
        self.journal = None
        self.say(f"cleaned what move {earlier.move} had left in {self.target_end.describe()}")

    def abort(self) -> Journal:
        """Roll back the unfinished move this source's journal names."""
        earlier = self.kept.read()
        if earlier is None or earlier.state not in ("moving", "rolling-back"):
            raise PivotRefused(
                "no unfinished move to abort (a switched move is finished by running it again)"
            )
        self.journal, self.target_end = earlier, earlier.target
        if self._switched():
            raise PivotRefused("the move has switched: run it again to finish, then --back")
        self.rollback("aborted by strata pivot --abort")
        return earlier

    def close(self) -> None:
        for store in (self.source, self.target):
            if store is not None:
                store.close()  # type: ignore[attr-defined]
