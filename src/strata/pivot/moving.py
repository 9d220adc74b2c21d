"""What every part of a move shares: both ends, their stores, the journal kept in
each (``strata.pivot.engine.Pivot`` is made of this, ``undo`` and ``between``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from strata.errors import StrataError
from strata.pivot.ends import End, marker
from strata.pivot.from_file import InstallOptions
from strata.pivot.journal import Journal, Kept
from strata.store import MovableStore

__all__ = ["Moving", "Options", "PivotFailed", "PivotRefused"]


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
    wait_steady: float = 600.0  # seconds to wait for servers in flight (0: refuse at once)
    say: Callable[[str], None] = print
    # how the target's controller starts at resume (``strata.pivot.resume``): "cluster"
    # (its Deployment scaled up), "host" (``strata controller`` started here against
    # the target), "auto" (host when no node can run it, else cluster), "none" (by hand)
    controller: str = "none"
    host_args: tuple[str, ...] = ()  # a host controller's boot flags (--listen URL ...)
    # from a state file: FILE (the Topology object made from it) and the consent to make
    # its BMC credentials Secrets in the target (``strata.pivot.from_file``)
    install: InstallOptions = field(default_factory=InstallOptions)


class Moving:
    """Both ends of one move and its journal; the steps live in ``Pivot``."""

    def __init__(self, source: End, target: End, options: Options) -> None:
        self.source_end, self.target_end, self.options = source, target, options
        self.say = options.say
        self.source: MovableStore = source.open()
        self.kept = Kept(self.source)
        self.target: MovableStore | None = None
        self.target_kept: Kept | None = None
        self.journal: Journal | None = None

    def _open_target(self) -> MovableStore:
        if self.target is None:
            self.target = self.target_end.open()
            self.target_kept = Kept(self.target)
        return self.target

    def _write(self) -> None:
        assert self.journal is not None
        self.kept.write(self.journal)
        if self.journal.owned and self.target_kept is not None:
            self.target_kept.write(self.journal)

    def _claim_file(self, target: MovableStore) -> None:
        """Before a run's first write into a state file (install's clear, the copy, a
        rollback's clear): the file claimed at the journal's epoch, after a confirmation
        that the move is still this run's (``SQLiteMove.claim_fence``; docs/pivot.md,
        "Fenced writes"). ``MoveTakenOver`` when another run took it."""
        from strata.pivot.fencing import Fence
        from strata.store import SQLiteStore

        journal = self.journal
        if isinstance(target, SQLiteStore) and journal is not None:
            claim = partial(target.claim_fence, journal.move, journal.epoch)
            Fence(self.kept.check).plain("claim", claim)

    def _next_epoch(self) -> None:
        """This run takes the move (``--abort``, a later run's clean-up): its epoch one
        more than any run's before, written by compare-and-swap, so a run stalled with
        the move can no longer write into a state file this one claims."""
        assert self.journal is not None
        self.journal.epoch += 1
        self.kept.write(self.journal)

    def _history(self) -> bool:
        return self.source_end.kind == self.target_end.kind == "kube"

    def _switched(self) -> bool:
        assert self.journal is not None
        writer = self.source.writer()
        return writer is not None and writer[0] == marker(
            "moved", self.journal.move, self.target_end
        )
