"""The SQLite store's side of ``MovableStore`` (``strata.store.records``): its whole
state read out and written in as it was, for ``strata pivot`` (docs/pivot.md).

A mixin of ``SQLiteStore`` (which has ``_db``, ``_lock`` and ``_tx``): each method is
one transaction. Notes are rows ``note:<key>`` of ``meta``, beside the state's
identity and the token key.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from strata.store.records import LogEntry, NodeCopy, NodeRecord

__all__ = ["SQLiteMove"]

_RECORD = "name, version, state, step, reason, plan, updated, deadline, marks"
_USED = """SELECT t.node, t.stage FROM tokens_used t JOIN nodes n
ON t.node = n.name AND t.attempt = n.attempt ORDER BY t.stage"""
_PUT_RECORD = f"INSERT OR REPLACE INTO node_records ({_RECORD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_PUT_ATTEMPT = "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?)"
_CLEARED = ("node_records", "nodes", "tokens_used", "events", "unknown_machines", "clusters")


class SQLiteMove:
    _db: sqlite3.Connection
    _lock: threading.Lock

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

    def import_nodes(self, nodes: Sequence[NodeCopy]) -> None:
        now = time.time()
        with self._tx() as db:
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
            db.executemany("INSERT INTO events (node, at, kind, detail) VALUES (?, ?, ?, ?)", rows)

    def cursors(self) -> dict[str, int]:
        return {k.split(":", 1)[1]: int(v) for k, v in self._meta("cursor:")}

    def cluster_layers(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT layer FROM clusters ORDER BY layer")]

    def put_token_key(self, key: bytes) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('token_key', ?)", (key,))

    def clear(self) -> list[str]:
        with self._tx() as db:
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
