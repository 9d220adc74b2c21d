"""The state file's write lock, and who holds it when a writer cannot get it.

SQLite in WAL mode lets one connection write at a time: ``BEGIN IMMEDIATE`` takes the
write lock, a POSIX advisory lock (``fcntl``) on a byte of the ``-shm`` file
(sqlite.org/walformat.html, "WAL_WRITE_LOCK"), and waits up to the connection's busy
timeout (``BUSY_TIMEOUT``) before SQLite says ``database is locked``. A Strata process
holds it for milliseconds; a process stopped or hung inside a transaction (a
``kill -STOP``, a paused VM) holds it until it goes on or dies, and every other
writer of the file stops with it. ``StateLocked`` says so with the holders Linux
lists in ``/proc/locks`` (proc(5)): their pids, programs and whether they are
stopped.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from strata.store.state_file import SIDE_FILES, StateFileError

__all__ = ["BUSY_TIMEOUT", "StateLocked", "begin_immediate", "lock_holders"]

BUSY_TIMEOUT = 5.0  # s a writer waits for the lock (Python's sqlite3 default)
_PROC_LOCKS = Path("/proc/locks")


class StateLocked(StateFileError):
    """Another process kept the state file's write lock for ``BUSY_TIMEOUT`` s. Exit
    code 1: it can come in the middle of a command's work, not only before it."""

    kind = "state-locked"
    exit_code = 1

    def __init__(self, path: Path, holders: list[str]) -> None:
        who = ", ".join(holders) if holders else "another process"
        fix = "wait for it to finish, or stop it, then run this again"
        if any(h.endswith("stopped") for h in holders):
            fix = (
                "a stopped process holds it: resume it (kill -CONT) or stop it, then run this again"
            )
        super().__init__(
            path, f"its write lock has been held for over {BUSY_TIMEOUT:.0f} s by {who}", fix
        )
        self.holders = holders


def begin_immediate(db: sqlite3.Connection, path: Path) -> None:
    """``BEGIN IMMEDIATE`` on ``db``, the state file at ``path``; ``StateLocked`` naming
    the holders when the write lock stays taken past the busy timeout."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        raise StateLocked(path, lock_holders(path)) from None


def lock_holders(path: Path) -> list[str]:
    """``pid <n> (<program>)`` for each other process holding a write lock on the state
    file or its side files, ``, stopped`` added when it is stopped; empty where
    ``/proc/locks`` cannot be read."""
    files = set()
    for name in (str(path), *(f"{path}{side}" for side in SIDE_FILES)):
        try:
            st = os.stat(name)
        except OSError:
            continue
        files.add((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
    try:
        table = _PROC_LOCKS.read_text()
    except OSError:
        return []
    held = {pid for pid, file in _write_locks(table) if file in files and pid > 0}
    pids = sorted(held - {os.getpid()})
    return [_describe(pid) for pid in pids]


def _write_locks(table: str) -> list[tuple[int, tuple[int, int, int]]]:
    """(pid, (major, minor, inode)) of each WRITE lock in ``/proc/locks``: lines such as
    ``1: POSIX  ADVISORY  WRITE 4242 08:01:1234 120 120`` (device in hex)."""
    found = []
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[3] != "WRITE":
            continue  # "->": a process waiting for the lock, not holding it
        major, minor, inode = fields[5].split(":")
        found.append((int(fields[4]), (int(major, 16), int(minor, 16), int(inode))))
    return found


def _describe(pid: int) -> str:
    try:
        program = Path(f"/proc/{pid}/comm").read_text().strip()
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return f"pid {pid}"
    return f"pid {pid} ({program})" + (", stopped" if state in ("T", "t") else "")
