"""Rolling a move back before its switch (docs/pivot.md, "Failures and how to
recover"): the target's state of the move cleared, what the move made there
removed, the target's earlier writer put back, the source unfrozen; a target that
cannot be reached is cleaned by the next run (``cleanup_pending``)."""

from __future__ import annotations

from strata.pivot import failpoints, install, lease
from strata.pivot.ends import MOVED_TTL, marker
from strata.pivot.journal import Journal
from strata.pivot.moving import Moving, PivotRefused
from strata.pivot.preflight import target_exists
from strata.store import KubeStore
from strata.store.kube_api import KubeStoreError

__all__ = ["Undoing"]


class Undoing(Moving):
    def rollback(self, reason: str, first: tuple[str, ...] = ()) -> None:
        """Undo a move that has not switched (see the module's docstring); ``first``:
        lines said (and kept in its report) right after the reason."""
        journal = self.journal
        assert journal is not None
        journal.report = [f"failed: {reason}", *first]
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

    def failed(self, failure: BaseException) -> str:
        """The reason of a rollback for ``failure``, with the API server's cause when the
        target's namespace is it (``install.refused_why``)."""
        reason = f"{type(failure).__name__}: {failure}"
        if isinstance(failure, KubeStoreError) and isinstance(self.target, KubeStore):
            why = install.refused_why(self.target.api, self.target_end.namespace, failure)
            reason += f" ({why})" if why else ""
        return reason

    def _undo_target(self, journal: Journal) -> None:
        target = self._open_target() if target_exists(self.target_end) else None
        if target is None:
            return
        if journal.owned:
            self._claim_file(target)
            journal.report += [f"target: {line}" for line in target.clear()]
            if isinstance(target, KubeStore):  # clear() keeps it: a secret the move wrote
                key = install.remove_token_key(
                    target.api, self.target_end.namespace, journal.target.topology
                )
                journal.report += [f"target: {key}"] if key else []
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
            journal.report += kept  # each what was kept and why
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
        self._next_epoch()
        self._undo_target(earlier)
        earlier.report.append(f"target {self.target_end.describe()}: cleaned by a later run")
        self.kept.write(earlier)
        self.journal = None
        self.say(f"cleaned what move {earlier.move} had left in {self.target_end.describe()}")

    def abort(self) -> Journal:
        """Roll back the unfinished move this source's journal names."""
        earlier = lease.await_free(self.kept, self.say)  # not while a run of it is live
        if earlier is None or earlier.state not in ("moving", "rolling-back"):
            raise PivotRefused(
                "no unfinished move to abort (a switched move is finished by running it again)"
            )
        self.journal, self.target_end = earlier, earlier.target
        if self._switched():
            raise PivotRefused("the move has switched: run it again to finish, then --back")
        self._next_epoch()  # a run of it stalled past its lease writes no more
        self.rollback("aborted by strata pivot --abort")
        return earlier
