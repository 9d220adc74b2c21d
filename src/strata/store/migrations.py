"""The SQLite store's schema, as numbered migrations applied in order at open.

Migration N takes a database from version N-1 to N inside one transaction, so a
crash mid-way leaves the previous version intact. A file written by a newer
Strata is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from strata.store.state_file import StateFileError
from strata.store.state_lock import begin_immediate

__all__ = ["MIGRATIONS", "SchemaTooNew", "check_readable", "migrate"]

MIGRATIONS: tuple[str, ...] = (
    # 1: what the boot service needs
    """
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
    """,
    # 2: the controller's node records (optimistic concurrency) and the single-writer lease
    """
    CREATE TABLE node_records (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        step TEXT,                           -- where a failed node stopped
        reason TEXT,                         -- why
        plan TEXT NOT NULL,                  -- the NodePlan last applied, as JSON
        updated REAL NOT NULL,
        deadline REAL,                       -- when the current phase times out
        marks TEXT NOT NULL DEFAULT '{}'     -- what an action has done so far (JSON)
    );
    CREATE TABLE writer (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        expires REAL NOT NULL
    );
    """,
    # 3: the state file's identity, so a copy or a replacement under a controller is told apart
    """
    INSERT OR IGNORE INTO meta VALUES ('state_id', lower(hex(randomblob(16))));
    INSERT OR IGNORE INTO meta VALUES ('created', strftime('%s', 'now'))
    """,
    # 4: each layer's cluster secrets, made once and kept (store/clusters.py): text the
    # store does not read (the PKI as ClusterPKI's JSON, the token <id>.<secret>, the
    # certificate key in hex); times in unix seconds
    """
    CREATE TABLE clusters (
        layer TEXT PRIMARY KEY,
        pki TEXT NOT NULL,
        token TEXT NOT NULL,
        token_expires REAL NOT NULL,
        certificate_key TEXT NOT NULL,
        created REAL NOT NULL,
        rotated REAL NOT NULL
    )
    """,
)


class SchemaTooNew(StateFileError):
    """The state file was written by a newer Strata."""


def _known_version(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version (0: none yet); ``SchemaTooNew`` past this Strata's."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    current = int(row[0]) if row else 0
    if current > len(MIGRATIONS):
        raise SchemaTooNew(
            path,
            f"has schema version {current}; this Strata knows up to {len(MIGRATIONS)}",
            "use the Strata that wrote it, or a newer one",
        )
    return current


def check_readable(db: sqlite3.Connection, path: Path) -> None:
    """For a reader that may not migrate: ``SchemaTooNew`` for a file from a newer Strata,
    ``StateFileError`` for one an older Strata wrote and no writer has migrated yet."""
    current = _known_version(db, path)
    if current < len(MIGRATIONS):
        raise StateFileError(
            path,
            f"has schema version {current}, older than this Strata's {len(MIGRATIONS)}",
            "run a command that writes it (strata apply) once: it migrates the file in place",
        )


def migrate(db: sqlite3.Connection, path: Path = Path("<memory>")) -> int:
    """Bring ``db`` to the latest version; returns it. ``SchemaTooNew`` for a file written by
    a newer Strata (nothing is changed)."""
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
    current = _known_version(db, path)
    for version in range(current + 1, len(MIGRATIONS) + 1):
        begin_immediate(db, path)
        try:
            for statement in MIGRATIONS[version - 1].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (version,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return len(MIGRATIONS)
