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

__all__ = ["Event", "SQLiteStore"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    name TEXT PRIMARY KEY,
    attempt INTEGER NOT NULL DEFAULT 0,
    attempt_expires INTEGER,            -- NULL: no attempt in progress
    provisioned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens_used (
    node TEXT NOT NULL, attempt INTEGER NOT NULL, stage INTEGER NOT NULL,
    used_at REAL NOT NULL, PRIMARY KEY (node, attempt, stage)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_node ON events (node, id);
CREATE TABLE IF NOT EXISTS unknown_machines (
    mac TEXT PRIMARY KEY, uuid TEXT, serial TEXT, arch TEXT, platform TEXT,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, boots INTEGER NOT NULL
);
"""


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
        self._db.executescript(_SCHEMA)
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
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
