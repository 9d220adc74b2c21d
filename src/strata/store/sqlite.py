"""The embedded state store: one SQLite file, WAL mode, mode 0600.

This first part holds what the boot service needs: each node's provisioning
attempt, the single-use token record, the append-only event log, machines that
booted but are in no topology, and the key that signs boot tokens. It
implements ``strata.boot.state.BootState``. (The controller's lifecycle
records, optimistic concurrency and the single-writer lock build on it.)
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.boot.state import Attempt, UnknownMachine
from strata.boot.tokens import Stage
from strata.store.migrations import migrate

__all__ = ["Conflict", "Event", "NodeRecord", "SQLiteStore", "WriterBusy"]


@dataclass(frozen=True, slots=True)
class NodeRecord:
    name: str
    version: int  # increases by one with every write: the optimistic-concurrency check
    state: str
    step: str | None
    reason: str | None
    plan: Mapping[str, Any]
    updated: float


class Conflict(Exception):
    """Another writer changed the record since it was read."""

    def __init__(self, name: str, expected: int, actual: int) -> None:
        super().__init__(
            f"node {name}: record is at version {actual}, not {expected}: read it again"
        )
        self.name, self.expected, self.actual = name, expected, actual


class WriterBusy(Exception):
    """Another controller holds the datacenter."""

    def __init__(self, holder: str, expires: float) -> None:
        super().__init__(
            f"{holder} is driving this datacenter (its lease runs until {time.ctime(expires)})"
        )
        self.holder, self.expires = holder, expires


@dataclass(frozen=True, slots=True)
class Event:
    node: str
    at: float
    kind: str
    detail: Mapping[str, Any]


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # never world-readable
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a process crash
        with self._lock:
            migrate(self._db)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('token_key', ?)", (secrets.token_bytes(32),)
            )

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def token_key(self) -> bytes:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'token_key'").fetchone()
        return bytes(row[0])

    # -- provisioning attempts (the controller's side) ---------------------

    def begin_attempt(self, node: str, lifetime: float, now: float | None = None) -> Attempt:
        expires = int((now or time.time()) + lifetime)
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO nodes (name) VALUES (?)", (node,))
            db.execute(
                "UPDATE nodes SET attempt = attempt + 1, attempt_expires = ?, provisioned = 0 WHERE name = ?",
                (expires, node),
            )
            (number,) = db.execute("SELECT attempt FROM nodes WHERE name = ?", (node,)).fetchone()
        return Attempt(number, expires)

    def end_attempt(self, node: str, provisioned: bool) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE nodes SET attempt_expires = NULL, provisioned = ? WHERE name = ?",
                (int(provisioned), node),
            )

    # -- BootState ---------------------------------------------------------

    def attempt(self, node: str) -> Attempt | None:
        with self._lock:
            row = self._db.execute(
                "SELECT attempt, attempt_expires FROM nodes WHERE name = ?", (node,)
            ).fetchone()
        if row is None or row[1] is None:
            return None
        return Attempt(row[0], row[1])

    def consume(self, node: str, attempt: int, stage: Stage) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO tokens_used VALUES (?, ?, ?, ?)",
                (node, attempt, int(stage), time.time()),
            )
            return cursor.rowcount == 1

    def record(self, node: str, event: str, detail: Mapping[str, object]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (node, at, kind, detail) VALUES (?, ?, ?, ?)",
                (node, time.time(), event, json.dumps(dict(detail), sort_keys=True)),
            )

    def record_unknown(self, machine: UnknownMachine) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                """INSERT INTO unknown_machines VALUES (?, ?, ?, ?, ?, ?, ?, 1)
                   ON CONFLICT (mac) DO UPDATE SET uuid = excluded.uuid, serial = excluded.serial,
                   arch = excluded.arch, platform = excluded.platform,
                   last_seen = excluded.last_seen, boots = boots + 1""",
                (
                    machine.mac,
                    machine.uuid,
                    machine.serial,
                    machine.arch,
                    machine.platform,
                    now,
                    now,
                ),
            )

    # -- node records: optimistic concurrency -----------------------------

    def records(self) -> dict[str, NodeRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, version, state, step, reason, plan, updated FROM node_records"
            ).fetchall()
        return {
            r[0]: NodeRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows
        }

    def put_record(
        self,
        name: str,
        expected_version: int,
        state: str,
        plan: Mapping[str, Any],
        step: str | None = None,
        reason: str | None = None,
    ) -> NodeRecord:
        """Write a node's record if it is still at ``expected_version`` (0: not yet written);
        ``Conflict`` when another writer got there first."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT version FROM node_records WHERE name = ?", (name,)).fetchone()
            actual = row[0] if row else 0
            if actual != expected_version:
                raise Conflict(name, expected_version, actual)
            db.execute(
                "INSERT OR REPLACE INTO node_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    actual + 1,
                    state,
                    step,
                    reason,
                    json.dumps(dict(plan), sort_keys=True),
                    now,
                ),
            )
        return NodeRecord(name, actual + 1, state, step, reason, dict(plan), now)

    # -- the single-writer lease -------------------------------------------

    def acquire_writer(self, holder: str, ttl: float, now: float | None = None) -> None:
        """Hold the datacenter for ``ttl`` seconds (again, to renew); ``WriterBusy`` names
        the controller that holds it when that is someone else and the lease is live."""
        now = time.time() if now is None else now
        with self._tx() as db:
            row = db.execute("SELECT holder, expires FROM writer WHERE id = 1").fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                raise WriterBusy(row[0], row[1])
            db.execute("INSERT OR REPLACE INTO writer VALUES (1, ?, ?)", (holder, now + ttl))

    def release_writer(self, holder: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM writer WHERE id = 1 AND holder = ?", (holder,))

    def writer(self, now: float | None = None) -> tuple[str, float] | None:
        """Who holds the lease, and until when; None when nobody does."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute("SELECT holder, expires FROM writer WHERE id = 1").fetchone()
        return (row[0], row[1]) if row is not None and row[1] > now else None

    # -- reading -----------------------------------------------------------

    def events(self, node: str) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT node, at, kind, detail FROM events WHERE node = ? ORDER BY id", (node,)
            ).fetchall()
        return [Event(n, at, kind, json.loads(detail)) for n, at, kind, detail in rows]

    def unknown_machines(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM unknown_machines ORDER BY first_seen")
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
