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

Into a Kubernetes target every write is fenced (``strata.pivot.fencing``): a run
stalled past its move lease writes nothing over what another run wrote since.
``failpoints.reached`` marks the instants a test may stop the process at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from strata.errors import StrataError
from strata.pivot import failpoints
from strata.pivot.digest import EVERY, entry_digest, node_digest
from strata.pivot.fencing import Fence
from strata.store import KubeStore, LogEntry, MovableStore
from strata.store.kube_api import Obj
from strata.store.kube_records import as_json

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
    """``check``: raises ``JournalTaken`` when this run no longer has the move. A
    Kubernetes target's writes are fenced (``strata.pivot.fencing``): read, ``check``,
    then written conditional on the read; ``MoveTakenOver`` when another run took it."""
    fence = Fence(check)
    fence.confirm()
    copy_secrets(source, target, fence)
    failpoints.reached("copy:secrets")
    copy_nodes(source, target, history, fence)
    copy_log(source, target, log_from, fence)
    cursors = cursor_map(source, target, log_from)
    if isinstance(target, KubeStore):
        fence.write("cursors", target.read_cursors, partial(target.put_cursors_at, cursors))
    else:
        fence.plain("cursors", partial(_set_cursors, target, cursors))
    failpoints.reached("copy:cursors")


def _set_cursors(target: MovableStore, cursors: dict[str, int]) -> None:
    for name, value in cursors.items():
        target.set_cursor(name, value)


def copy_secrets(source: MovableStore, target: MovableStore, fence: Fence) -> None:
    """Each layer's secrets first-writer-wins (a create, never a replace: fenced as
    it is), then the boot service's token key replaced by the source's."""
    for layer in source.cluster_layers():
        row = source.cluster(layer)
        if row is not None:
            target.keep_cluster(row)
    key = source.token_key()
    if isinstance(target, KubeStore):
        fence.write("token-key", target.read_token_key, partial(target.put_token_key_at, key))
    else:
        fence.plain("token-key", partial(target.put_token_key, key))


def copy_nodes(source: MovableStore, target: MovableStore, history: bool, fence: Fence) -> None:
    """The nodes whose digest differs, ``NODE_BATCH`` at a time; into a Kubernetes
    target each batch fenced by one LIST of its Servers (read again after a conflict)."""
    there = {n.name: node_digest(n, history) for n in target.export_nodes()}
    todo = [n for n in source.export_nodes() if there.get(n.name) != node_digest(n, history)]
    read = _Listing(target, fence) if isinstance(target, KubeStore) else None
    for i in range(0, len(todo), NODE_BATCH):
        batch, name = todo[i : i + NODE_BATCH], f"copy:nodes:{i // NODE_BATCH}"
        if isinstance(target, KubeStore) and read is not None:
            fence.write(name, read, partial(target.import_nodes, batch))
        else:
            fence.plain(name, partial(target.import_nodes, batch))
        failpoints.reached(name)


class _Listing:
    """A Kubernetes target's Servers as one LIST read them, listed again once a write
    was refused since (``Fence.conflicts``)."""

    def __init__(self, target: KubeStore, fence: Fence) -> None:
        self.target, self.fence = target, fence
        self.listed, self.at = target.read_servers(), fence.conflicts

    def __call__(self) -> dict[str, Obj]:
        if self.at != self.fence.conflicts:
            self.listed, self.at = self.target.read_servers(), self.fence.conflicts
        return self.listed


def copy_log(source: MovableStore, target: MovableStore, log_from: int, fence: Fence) -> None:
    wanted = source.events_since(0, EVERY)[log_from:]
    there = target.events_since(0, EVERY)
    _check_prefix(wanted, there)
    rest = wanted[len(there) :]
    for i in range(0, len(rest), LOG_BATCH):
        batch, name = rest[i : i + LOG_BATCH], f"copy:log:{i // LOG_BATCH}"
        if isinstance(target, KubeStore):
            entries = [(e.node, e.at, e.kind, as_json(e.detail)) for e in batch]
            fence.write(name, target.log.read_head, partial(target.log.append_at, entries))
        else:
            fence.plain(name, partial(target.append_log, batch))
        failpoints.reached(name)


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
