"""A lost, damaged or replaced state file is an error, never a new datacenter; what Strata
writes is private whatever the umask. Against real SQLite files."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from strata.store import SQLiteStore, StateDamaged, StateLost


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / ".strata" / "strata.db"
    store = SQLiteStore(path)
    store.put_record("n1", 0, "provisioned", {"name": "n1"})
    store.close()
    return path


def test_a_truncated_state_is_refused_and_left_as_it_is(state: Path) -> None:
    os.truncate(state, 0)
    for read_only in (False, True):
        with pytest.raises(StateDamaged, match=r"is empty \(0 bytes\)") as caught:
            SQLiteStore(state, read_only=read_only)
        assert "strata adopt" in caught.value.hint
    assert state.stat().st_size == 0  # nothing was written into it


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a database at all\n" * 10, "is not a SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 200, "is damaged"),
    ],
)
def test_a_file_that_is_not_a_database_is_refused(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "strata.db"
    path.write_bytes(content)
    with pytest.raises(StateDamaged, match=problem):
        SQLiteStore(path)
    assert path.read_bytes() == content


def test_someone_elses_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE inventory (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(StateDamaged, match="not a Strata state file"):
        SQLiteStore(path)


def test_a_directory_where_the_state_belongs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "strata.db").mkdir()
    with pytest.raises(StateDamaged, match="not a regular file"):
        SQLiteStore(tmp_path / "strata.db")


def test_a_reader_never_creates_a_state(tmp_path: Path) -> None:
    with pytest.raises(StateDamaged, match="does not exist"):
        SQLiteStore(tmp_path / "none.db", read_only=True)
    assert not (tmp_path / "none.db").exists()


def test_a_state_file_removed_under_a_controller_stops_it_at_the_lease(state: Path) -> None:
    store = SQLiteStore(state)
    store.acquire_writer("strata apply (pid 1 on here)", ttl=30)
    state.unlink()
    with pytest.raises(StateLost, match="was removed"):
        store.acquire_writer("strata apply (pid 1 on here)", ttl=30)


def test_a_state_file_replaced_under_a_controller_stops_it_at_the_lease(state: Path) -> None:
    store = SQLiteStore(state)
    store.acquire_writer("strata apply (pid 1 on here)", ttl=30)
    copy = state.with_name("copy.db")
    shutil.copyfile(state, copy)
    os.replace(copy, state)  # a restore, or a fresh file, put in its place
    with pytest.raises(StateLost, match="was replaced"):
        store.acquire_writer("strata apply (pid 1 on here)", ttl=30)


def test_each_state_file_has_an_identity_of_its_own(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "a.db"), SQLiteStore(tmp_path / "b.db")
    assert len(one.state_id()) == 32 and one.state_id() != two.state_id()
    again = SQLiteStore(tmp_path / "a.db")
    assert again.state_id() == one.state_id()


def test_a_state_file_others_can_read_is_made_private_with_a_warning(
    state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.chmod(state, 0o644)
    with caplog.at_level(logging.WARNING, logger="strata.store"):
        SQLiteStore(state).close()
    assert _mode(state) == 0o600
    assert "readable by others" in caplog.text and "0600" in caplog.text


WRITE_UNDER_UMASK_0 = """
import os, sys
from pathlib import Path
from strata.store import SQLiteStore
os.umask(0)
store = SQLiteStore(Path(sys.argv[1]))
store.put_record("n1", 0, "declared", {})
store.acquire_writer("t", ttl=30)
print(sorted(p.name for p in Path(sys.argv[1]).parent.iterdir()))
"""


def test_the_state_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "new" / ".strata" / "strata.db"
    out = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_UMASK_0, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "strata.db-wal" in out  # the side files exist, and are checked below
    assert _mode(tmp_path / "new") == 0o700 and _mode(path.parent) == 0o700
    for file in path.parent.iterdir():
        assert _mode(file) == 0o600, file


def test_a_wal_left_without_its_database_is_never_replayed_into_a_new_one(state: Path) -> None:
    store = SQLiteStore(state)  # open: its WAL file exists beside it
    store.put_record("n2", 0, "provisioned", {})
    wal = state.with_name(state.name + "-wal")
    assert wal.exists()
    state.unlink()
    with pytest.raises(StateDamaged, match=r"does not exist, but strata\.db-wal does"):
        SQLiteStore(state)
    assert not state.exists()


def test_a_state_directory_others_may_write_is_fixed_or_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chmod(mine, 0o777)
    with caplog.at_level(logging.WARNING, logger="strata.store"):
        SQLiteStore(mine / "s.db").close()
    assert _mode(mine) == 0o700 and "writable by others" in caplog.text
    shared = tmp_path / "shared"  # like /tmp: others may write, the sticky bit set
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(StateDamaged, match="may be written by others"):
        SQLiteStore(shared / "s.db")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_state_file_of_another_user_is_refused(state: Path) -> None:
    os.chown(state, 65534, 65534)
    with pytest.raises(StateDamaged, match="belongs to uid 65534"):
        SQLiteStore(state, read_only=True)


def test_a_run_shorter_than_a_renewal_is_told_at_its_end(state: Path) -> None:
    store = SQLiteStore(state)
    store.acquire_writer("strata apply (pid 1 on here)", ttl=30)
    for side in ("", "-wal", "-shm"):
        state.with_name(state.name + side).unlink(missing_ok=True)
    with pytest.raises(StateLost, match="was removed"):
        store.release_writer("strata apply (pid 1 on here)")


def test_a_dangling_link_or_a_file_for_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link.db").symlink_to(tmp_path / "nowhere.db")
    with pytest.raises(StateDamaged, match="symbolic link to nothing"):
        SQLiteStore(tmp_path / "link.db")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateDamaged, match="is not a directory"):
        SQLiteStore(tmp_path / "file" / "strata.db")
