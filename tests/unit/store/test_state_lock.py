"""A state file whose write lock another process keeps: the writer stops after the busy
timeout with ``StateLocked`` naming the holder (pid, program, stopped) and writes once
the holder is gone; a holder that goes on lets it through."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.store import SQLiteStore
from strata.store.state_lock import StateLocked, _write_locks, lock_holders

HOLD = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT OR REPLACE INTO meta VALUES ('held', 1)")
print("held", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "strata.db"
    SQLiteStore(path).close()
    return path


@pytest.fixture
def holder(state: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    yield process
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait()


def test_a_stopped_holder_is_named_and_nothing_is_written(
    state: Path, holder: subprocess.Popen[str]
) -> None:
    os.kill(holder.pid, signal.SIGSTOP)
    with pytest.raises(StateLocked) as raised:
        SQLiteStore(state)  # a writer's first write is at open
    said = str(raised.value)
    assert f"pid {holder.pid} (python" in said and ", stopped" in said, said
    assert str(state) in said and "kill -CONT" in (raised.value.hint or "")
    assert raised.value.exit_code == 1
    os.kill(holder.pid, signal.SIGCONT)
    holder.kill()  # its transaction rolled back, the lock released with the process
    holder.wait()
    store = SQLiteStore(state)
    try:
        assert store.set_note("pivot", "{}", None)
    finally:
        store.close()


def test_a_holder_that_goes_on_lets_the_writer_through(
    state: Path, holder: subprocess.Popen[str]
) -> None:
    assert [h.split(" (")[0] for h in lock_holders(state)] == [f"pid {holder.pid}"]
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    store = SQLiteStore(state)
    try:
        assert store.set_note("pivot", "{}", None)
    finally:
        store.close()
    assert holder.wait() == 0
    assert lock_holders(state) == []


def test_proc_locks_lines_are_read_as_linux_writes_them() -> None:
    table = (
        "1: POSIX  ADVISORY  WRITE 4242 fd:01:1234 120 120\n"
        "1: -> POSIX  ADVISORY  WRITE 4343 fd:01:1234 120 120\n"
        "2: POSIX  ADVISORY  READ 4444 fd:01:1234 128 128\n"
        "3: OFDLCK ADVISORY  WRITE -1 08:02:99 0 EOF\n"
    )
    assert _write_locks(table) == [(4242, (253, 1, 1234)), (-1, (8, 2, 99))]
