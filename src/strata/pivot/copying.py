"""The copy step: a frozen source's state written into the target, each part so that
doing it again after a crash at any instant goes on from where it stopped.

- the layers' secrets (PKI, bootstrap token, certificate key) kept first-writer-wins,
  and the boot service's token key replaced by the source's;
- every node (record at its version and time, plan, marks, attempt, used token stages,
  kept history) in batches: a node whose digest is already equal is not written again;
- the log: the target's log must be a prefix of the source's copied window, and the
  rest is appended in order, with each entry's own time (ids are the target's);
- the cursors, translated: a cursor at source entry *i* points at the target entry
  the copy of *i* became (entries before the copied window: 0).

``failpoints.reached`` marks the instants a test may stop the process at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from strata.errors import StrataError
from strata.pivot import failpoints
from strata.pivot.digest import EVERY, entry_digest, node_digest
from strata.store import KubeStore, LogEntry, MovableStore

__all__ = ["CopyRefused", "copy_all", "cursor_map", "log_window"]

Check = Callable[[], None]
NODE_BATCH = 50
LOG_BATCH = 500


class CopyRefused(StrataError):
    """The target holds something the copy did not write: it is not copied over."""

    kind = "pivot-copy"
    exit_code = 1


def log_window(source: MovableStore, target: MovableStore) -> int:
    """Where the copied part of the source's log starts (an index into it): its newest
    entries as many as the target keeps (a Kubernetes store keeps ``size * keep``)."""
    if not isinstance(target, KubeStore):
        return 0
    total = len(source.events_since(0, EVERY))
    return max(0, total - target.log.keep * target.log.size)


def copy_all(
    source: MovableStore, target: MovableStore, log_from: int, history: bool, check: Check
) -> None:
    """``check``: raises when this run no longer has the move (called before each write)."""
    check()
    copy_secrets(source, target)
    failpoints.reached("copy:secrets")
    copy_nodes(source, target, history, check)
    copy_log(source, target, log_from, check)
    check()
    for name, value in cursor_map(source, target, log_from).items():
        target.set_cursor(name, value)
    failpoints.reached("copy:cursors")


def copy_secrets(source: MovableStore, target: MovableStore) -> None:
    for layer in source.cluster_layers():
        row = source.cluster(layer)
        if row is not None:
            target.keep_cluster(row)
    target.put_token_key(source.token_key())


def copy_nodes(source: MovableStore, target: MovableStore, history: bool, check: Check) -> None:
    there = {n.name: node_digest(n, history) for n in target.export_nodes()}
    todo = [n for n in source.export_nodes() if there.get(n.name) != node_digest(n, history)]
    for i in range(0, len(todo), NODE_BATCH):
        check()
        target.import_nodes(todo[i : i + NODE_BATCH])
        failpoints.reached(f"copy:nodes:{i // NODE_BATCH}")


def copy_log(source: MovableStore, target: MovableStore, log_from: int, check: Check) -> None:
    wanted = source.events_since(0, EVERY)[log_from:]
    there = target.events_since(0, EVERY)
    _check_prefix(wanted, there)
    rest = wanted[len(there) :]
    for i in range(0, len(rest), LOG_BATCH):
        check()
        target.append_log(rest[i : i + LOG_BATCH])
        failpoints.reached(f"copy:log:{i // LOG_BATCH}")


def _check_prefix(wanted: Sequence[LogEntry], there: Sequence[LogEntry]) -> None:
    if len(there) > len(wanted):
        raise CopyRefused(
            f"the target's log holds {len(there)} entries, more than the "
            f"{len(wanted)} copied from the source: something else writes there"
        )
    for i, (a, b) in enumerate(zip(wanted, there, strict=False)):
        if entry_digest(a) != entry_digest(b):
            raise CopyRefused(f"the target's log entry {i + 1} is not the source's: not ours")


def cursor_map(source: MovableStore, target: MovableStore, log_from: int) -> dict[str, int]:
    """The source's cursors as positions in the target's copy of the log."""
    ids = [e.id for e in source.events_since(0, EVERY)[log_from:]]
    copied = [e.id for e in target.events_since(0, EVERY)]
    mapped = {}
    for name, value in source.cursors().items():
        at = [t for s, t in zip(ids, copied, strict=False) if s <= value]
        mapped[name] = at[-1] if at else 0
    return mapped
