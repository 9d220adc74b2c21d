"""The embedded state store: one SQLite file, WAL mode, mode 0600.

It holds what the boot service needs (each node's provisioning attempt, the
single-use token record, machines that booted but are in no topology, the key
that signs boot tokens) and what the controller needs (versioned node records,
the single-writer lease); both append to one event log. It implements
``strata.store.records.Store`` and with it ``strata.boot.state.BootState``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from strata.provisioning import Attempt, Stage, UnknownMachine
from strata.store import clusters, fence
from strata.store.clusters import StoredCluster
from strata.store.migrations import check_readable, migrate
from strata.store.records import (
    Conflict,
    LogEntry,
    NodeRecord,
    NodeSummary,
    RecordWrite,
    WriterBusy,
)
from strata.store.sqlite_move import SQLiteMove
from strata.store.state_file import StateDamaged, StateFile
from strata.store.state_lock import BUSY_TIMEOUT, begin_immediate

__all__ = ["SQLiteStore"]


class SQLiteStore(SQLiteMove):
    """Raises ``StateDamaged`` (empty, unreadable, not Strata's), ``SchemaTooNew`` at open;
    ``StateLost`` from ``acquire_writer`` once the file was removed or replaced."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        if read_only:  # a status reader: never waits for the controller's write lock
            if not path.exists() and not path.is_symlink():
                raise StateDamaged(path, "does not exist", "run `strata apply` first")
            self.file = StateFile.open_checked(path, _initialise)
            self._db = _connect(f"file:{path}?mode=ro", uri=True)
            _require_strata(self._db, path)
            check_readable(self._db, path)
            return
        self.file = StateFile.open_checked(path, _initialise)
        self._db = _connect(str(path))
        _require_strata(self._db, path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a process crash
        with self._lock:
            migrate(self._db, path)
        self._opened_id = self.state_id()
        with self._tx() as db:  # the key that signs boot tokens, once per state file
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('token_key', ?)", (secrets.token_bytes(32),)
            )

    def _verify(self) -> None:
        """The path still names the file opened, and, as far as SQLite shows it, the same
        state (a copy over it in place keeps the inode: its identity may give it away, but
        pages the controller's WAL holds still show its own)."""
        self.file.verify(same_state=self.state_id() == self._opened_id)

    def state_id(self) -> str:
        """The random id given to this state file when it was created (its identity)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'state_id'").fetchone()
        return str(row[0])

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            begin_immediate(self._db, self.path)
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
            fence.check(db)  # `strata serve --provision` too honours a move
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
            fence.check(db)  # the boot service's writes honour a move (store/fence.py)
            cursor = db.execute(
                "INSERT OR IGNORE INTO tokens_used VALUES (?, ?, ?, ?)",
                (node, attempt, int(stage), time.time()),
            )
            return cursor.rowcount == 1

    def record(self, node: str, event: str, detail: Mapping[str, object]) -> None:
        self.record_many([(node, event, detail)])

    def record_many(self, entries: Sequence[tuple[str, str, Mapping[str, object]]]) -> None:
        """Append (node, event, detail) entries to the log, in order, in one transaction;
        ``WritesRefused`` while a move holds the lease (so do ``consume``, ``record_unknown``)."""
        now = time.time()
        rows = [(n, now, e, json.dumps(dict(d), sort_keys=True)) for n, e, d in entries]
        with self._tx() as db:
            fence.check(db)
            db.executemany("INSERT INTO events (node, at, kind, detail) VALUES (?, ?, ?, ?)", rows)

    def record_unknown(self, machine: UnknownMachine) -> None:
        now = time.time()
        with self._tx() as db:
            fence.check(db)
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
            rows = self._db.execute(f"SELECT {_RECORD} FROM node_records").fetchall()
        return {r[0]: _record(r) for r in rows}

    def summaries(self) -> list[NodeSummary]:
        places = ", ".join(
            f"json_extract(plan, '$.{k}')" for k in ("layer", "region", "zone", "rack")
        )
        with self._lock:
            rows = self._db.execute(
                f"SELECT name, state, step, reason, updated, {places} FROM node_records"
            ).fetchall()
        return [NodeSummary(*r[:5], *(str(v or "?") for v in r[5:])) for r in rows]

    def write_records(self, writes: Sequence[RecordWrite]) -> None:
        self._write_records(writes)

    def _write_records(self, writes: Sequence[RecordWrite]) -> float:
        """The batch as a batch: the versions read in one query, the records and their log
        entries written in one statement each (not three round trips a record: most of
        a controller's CPU per node is writing its records). Returns the time written."""
        now = time.time()
        names = json.dumps(sorted({w.name for w in writes}))
        with self._tx() as db:
            versions = dict(db.execute(_VERSIONS, (names,)).fetchall())
            records, entries = _rows(writes, versions, now)
            db.executemany(_UPSERT, records)
            db.executemany(
                "INSERT INTO events (node, at, kind, detail) VALUES (?, ?, ?, ?)", entries
            )
            ending = [(int(w.end_attempt), w.name) for w in writes if w.end_attempt is not None]
            db.executemany(_END_ATTEMPT, ending)
        return now

    def put_record(
        self,
        name: str,
        expected_version: int,
        state: str,
        plan: Mapping[str, Any],
        step: str | None = None,
        reason: str | None = None,
    ) -> NodeRecord:
        """One record; ``Conflict`` when another writer got there first."""
        write = RecordWrite(name, expected_version, state, step, reason, plan=plan)
        now = self._write_records([write])
        stored = json.loads(json.dumps(dict(plan)))
        return NodeRecord(name, expected_version + 1, state, step, reason, stored, now)

    def set_marks(self, name: str, marks: Mapping[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE node_records SET marks = ? WHERE name = ?",
                (json.dumps(dict(marks), sort_keys=True), name),
            )

    def cursor(self, name: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM meta WHERE key = ?", (f"cursor:{name}",)
            ).fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, name: str, value: int) -> None:
        with self._tx() as db:
            self._check_fence(db)  # a move's copy of the cursors (sqlite_move)
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"cursor:{name}", value))

    # -- the single-writer lease -------------------------------------------

    def acquire_writer(
        self, holder: str, ttl: float, now: float | None = None, replacing: str | None = None
    ) -> None:
        """Hold the datacenter for ``ttl`` seconds (again, to renew); ``WriterBusy`` names
        the controller that holds it when that is someone else and the lease is live.
        ``replacing``: take over from that holder (known dead) even though its lease runs.
        ``StateLost`` when the state file was removed or replaced since it was opened."""
        self._verify()  # a controller whose state file went away must stop
        now = time.time() if now is None else now
        with self._tx() as db:
            row = db.execute("SELECT holder, expires FROM writer WHERE id = 1").fetchone()
            if row is not None and row[0] not in (holder, replacing) and row[1] > now:
                raise WriterBusy(row[0], row[1])
            db.execute("INSERT OR REPLACE INTO writer VALUES (1, ?, ?)", (holder, now + ttl))

    def release_writer(self, holder: str) -> None:
        """``StateLost`` (after releasing) when the file went away during the run: a run
        shorter than one lease renewal is told too."""
        with self._tx() as db:
            db.execute("DELETE FROM writer WHERE id = 1 AND holder = ?", (holder,))
        self._verify()

    def writer(self, now: float | None = None) -> tuple[str, float] | None:
        """Who holds the lease, and until when; None when nobody does."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute("SELECT holder, expires FROM writer WHERE id = 1").fetchone()
        return (row[0], row[1]) if row is not None and row[1] > now else None

    # -- each layer's cluster secrets (store/clusters.py) ---------------------

    def cluster(self, layer: str) -> StoredCluster | None:
        with self._lock:
            return clusters.read(self._db, layer)

    def keep_cluster(self, first: StoredCluster) -> StoredCluster:
        with self._tx() as db:
            return clusters.keep_first(db, first)

    def rotate_cluster_token(
        self, layer: str, replacing: str, token: str, expires: float, now: float
    ) -> StoredCluster:
        with self._tx() as db:
            return clusters.replace_token(db, layer, replacing, token, expires, now)

    # -- reading -----------------------------------------------------------

    def events(self, node: str) -> list[LogEntry]:
        return self._events("WHERE node = ? ORDER BY id", (node,))

    def events_since(
        self, after: int, limit: int = 10_000, kinds: Collection[str] | None = None
    ) -> list[LogEntry]:
        """Entries after ``after``, in order; ``kinds``: only entries of these kinds, the
        rest not read (None: every entry)."""
        if kinds is None:
            return self._events("WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
        marks = ", ".join("?" * len(kinds))
        return self._events(
            f"WHERE id > ? AND kind IN ({marks}) ORDER BY id LIMIT ?", (after, *kinds, limit)
        )

    def recent_events(self, limit: int) -> list[LogEntry]:
        return self._events("ORDER BY id DESC LIMIT ?", (limit,))[::-1]

    def latest(self, kinds: Collection[str], node: str) -> LogEntry | None:
        """The node's newest log entry of one of ``kinds`` (None: it has none)."""
        marks = ", ".join("?" * len(kinds))
        found = self._events(
            f"WHERE node = ? AND kind IN ({marks}) ORDER BY id DESC LIMIT 1", (node, *kinds)
        )
        return found[0] if found else None

    def _events(self, where: str, args: tuple[object, ...]) -> list[LogEntry]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, node, at, kind, detail FROM events {where}", args
            ).fetchall()
        return [LogEntry(n, at, kind, json.loads(d), id_) for id_, n, at, kind, d in rows]

    def unknown_machines(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM unknown_machines ORDER BY first_seen")
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_RECORD = "name, version, state, step, reason, plan, updated, deadline, marks"
_END_ATTEMPT = """UPDATE nodes SET attempt_expires = NULL, provisioned = ?
WHERE name = ? AND attempt_expires IS NOT NULL"""
_VERSIONS = "SELECT name, version FROM node_records WHERE name IN (SELECT value FROM json_each(?))"
# a new record takes the write's plan (none: an empty one); a recorded one keeps its plan
# unless the write carries one
_UPSERT = """INSERT INTO node_records (name, version, state, step, reason, plan, updated, deadline, marks)
    VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, '{}'), ?7, ?8, ?9)
    ON CONFLICT (name) DO UPDATE SET version = ?2, state = ?3, step = ?4, reason = ?5,
    plan = coalesce(?6, plan), updated = ?7, deadline = ?8, marks = ?9"""


def _rows(
    writes: Sequence[RecordWrite], versions: dict[str, int], now: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(record rows, log entry rows) of ``writes`` in order, each checked against the
    version before it (``versions``: name -> stored version, counted on as it goes);
    ``Conflict`` at the first that is stale."""
    records, entries = [], []
    for w in writes:
        actual = versions.get(w.name, 0)
        if actual != w.expected_version:
            raise Conflict(w.name, w.expected_version, actual)
        versions[w.name] = actual + 1
        plan = json.dumps(dict(w.plan), sort_keys=True) if w.plan is not None else None
        marks = json.dumps(dict(w.marks), sort_keys=True)
        records.append(
            (w.name, actual + 1, w.state, w.step, w.reason, plan, now, w.deadline, marks)
        )
        if w.event is not None:
            kind, detail = w.event
            entries.append((w.name, now, kind, json.dumps(dict(detail), sort_keys=True)))
    return records, entries


def _record(row: Sequence[Any]) -> NodeRecord:
    name, version, state, step, reason, plan, updated, deadline, marks = row
    return NodeRecord(
        name, version, state, step, reason, json.loads(plan), updated, deadline, json.loads(marks)
    )


def _connect(target: str, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(
        target, uri=uri, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT
    )


def _initialise(db: sqlite3.Connection) -> None:
    """A new state file: the schema and its identity (the writer that opens it next adds
    the key that signs boot tokens, as for files from before the key was made at open)."""
    db.execute("PRAGMA journal_mode=WAL")
    migrate(db)


def _require_strata(db: sqlite3.Connection, path: Path) -> None:
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise StateDamaged(path, f"is damaged ({exc})", "restore it from a backup") from None
    if "meta" not in tables:
        raise StateDamaged(
            path, "is a SQLite database but not a Strata state file", "give --state the right file"
        )
