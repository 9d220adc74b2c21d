"""The SQLite store's side of ``MovableStore`` (``strata.store.records``): its whole
state read out and written in as it was, for ``strata pivot`` (docs/pivot.md).

A mixin of ``SQLiteStore`` (which has ``_db``, ``_lock`` and ``_tx``): each method is
one transaction. Notes are rows ``note:<key>`` of ``meta``, beside the state's
identity and the token key.

A move into the file (``strata pivot --back``) fences its writes (docs/pivot.md,
"Fenced writes"): ``claim_fence`` puts the run's move and epoch (the journal's count of
runs that took the move) in the row ``pivot-fence``, and each later write of this
object checks, inside its own transaction, that the row is still that claim. A run that
took the move over claims a higher epoch, which an earlier run can never claim back, so
a run stalled past its lease gets ``Fenced`` at its next write and writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from strata.store.records import Fenced, LogEntry, NodeCopy, NodeRecord

__all__ = ["SQLiteMove"]

_RECORD = "name, version, state, step, reason, plan, updated, deadline, marks"
_USED = """SELECT t.node, t.stage FROM tokens_used t JOIN nodes n
ON t.node = n.name AND t.attempt = n.attempt ORDER BY t.stage"""
_PUT_RECORD = f"INSERT OR REPLACE INTO node_records ({_RECORD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_PUT_ATTEMPT = "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?)"
_CLEARED = ("node_records", "nodes", "tokens_used", "events", "unknown_machines", "clusters")
_FENCE = "pivot-fence"
ENDED = 50  # moves a claim remembers as ended (one move at a time: each ended before)


class SQLiteMove:
    _db: sqlite3.Connection
    _lock: threading.Lock
    path: Path
    _fence: tuple[str, int] | None = None  # (move, epoch) this object's writes are fenced at

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # SQLiteStore's

    def export_nodes(self) -> list[NodeCopy]:
        with self._lock:
            records = self._db.execute(f"SELECT {_RECORD} FROM node_records").fetchall()
            attempts = self._db.execute("SELECT * FROM nodes").fetchall()
            used = self._db.execute(_USED).fetchall()
        stages: dict[str, list[int]] = {}
        for node, stage in used:
            stages.setdefault(node, []).append(int(stage))
        kept = {r[0]: _record(r) for r in records}
        tried = {a[0]: a for a in attempts}
        return [
            NodeCopy(
                name,
                kept.get(name),
                int(tried[name][1]) if name in tried else 0,
                tried[name][2] if name in tried else None,
                bool(tried[name][3]) if name in tried else False,
                tuple(stages.get(name, ())),
            )
            for name in sorted(set(kept) | set(tried))
        ]

    def claim_fence(self, move: str, epoch: int) -> None:
        """Fences this object's later move writes at ``epoch`` of ``move``. ``Fenced``
        when a later epoch of the same move has claimed the file (another run took the
        move over), or when a later move has (a move is begun only once the one before
        it ended: the claim keeps the last ``ENDED`` moves it replaced)."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (_FENCE,)).fetchone()
            held = json.loads(row[0]) if row is not None else {}
            ended = list(held.get("ended") or [])
            if move in ended:
                raise Fenced(
                    f"state file {self.path}", f"move {move} ended; a later one claimed it"
                )
            if held.get("move") == move and int(held.get("epoch", 0)) > epoch:
                raise Fenced(
                    f"state file {self.path}",
                    f"run {held['epoch']} of move {move} claimed it after this one ({epoch})",
                )
            if held.get("move") not in (None, move):
                ended = [*ended, held["move"]][-ENDED:]
            claim = json.dumps({"move": move, "epoch": epoch, "ended": ended}, sort_keys=True)
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_FENCE, claim))
        self._fence = (move, epoch)

    def _check_fence(self, db: sqlite3.Connection) -> None:
        """Inside a write's transaction: ``Fenced`` unless the file's claim is still
        this object's (no claim made here: nothing checked)."""
        if self._fence is None:
            return
        row = db.execute("SELECT value FROM meta WHERE key = ?", (_FENCE,)).fetchone()
        held = json.loads(row[0]) if row is not None else {}
        if (held.get("move"), held.get("epoch")) != self._fence:
            raise Fenced(
                f"state file {self.path}",
                f"another run of the move claimed it (epoch {held.get('epoch')}, this run's "
                f"{self._fence[1]})",
            )

    def import_nodes(self, nodes: Sequence[NodeCopy]) -> None:
        now = time.time()
        with self._tx() as db:
            self._check_fence(db)
            for n in nodes:
                db.execute("DELETE FROM node_records WHERE name = ?", (n.name,))
                db.execute("DELETE FROM tokens_used WHERE node = ?", (n.name,))
                if n.record is not None:
                    db.execute(_PUT_RECORD, _row(n.record))
                db.execute(_PUT_ATTEMPT, (n.name, n.attempt, n.expires, int(n.provisioned)))
                db.executemany(
                    "INSERT INTO tokens_used VALUES (?, ?, ?, ?)",
                    [(n.name, n.attempt, stage, now) for stage in n.used],
                )

    def append_log(self, entries: Sequence[LogEntry]) -> None:
        rows = [(e.node, e.at, e.kind, json.dumps(dict(e.detail), sort_keys=True)) for e in entries]
        with self._tx() as db:
            self._check_fence(db)
            db.executemany("INSERT INTO events (node, at, kind, detail) VALUES (?, ?, ?, ?)", rows)

    def cursors(self) -> dict[str, int]:
        return {k.split(":", 1)[1]: int(v) for k, v in self._meta("cursor:")}

    def cluster_layers(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT layer FROM clusters ORDER BY layer")]

    def put_token_key(self, key: bytes) -> None:
        with self._tx() as db:
            self._check_fence(db)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('token_key', ?)", (key,))

    def clear(self) -> list[str]:
        with self._tx() as db:
            self._check_fence(db)
            for table in _CLEARED:
                db.execute(f"DELETE FROM {table}")  # the names: _CLEARED
            db.execute("DELETE FROM meta WHERE key LIKE 'cursor:%'")
        return []  # the file is the store's alone: nothing in it is another's

    def note(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"note:{key}",))
            found = row.fetchone()
        return None if found is None else str(found[0])

    def set_note(self, key: str, value: str | None, expected: str | None) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (f"note:{key}",)).fetchone()
            if (None if row is None else str(row[0])) != expected:
                return False
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (f"note:{key}",))
            else:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"note:{key}", value))
        return True

    def _meta(self, prefix: str) -> Iterator[tuple[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
        yield from rows


def _record(row: Sequence[Any]) -> NodeRecord:
    name, version, state, step, reason, plan, updated, deadline, marks = row
    return NodeRecord(
        name, version, state, step, reason, json.loads(plan), updated, deadline, json.loads(marks)
    )


def _row(r: NodeRecord) -> tuple[Any, ...]:
    plan = json.dumps(dict(r.plan), sort_keys=True)
    marks = json.dumps(dict(r.marks), sort_keys=True)
    return (r.name, r.version, r.state, r.step, r.reason, plan, r.updated, r.deadline, marks)
