"""Pruning the seed's build cache (``strata.seed.cache``) on a real directory of stages:
real files of real sizes, uses recorded as the cache records them, a stage held in use
by another process through its lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from strata.seed.cache import USED, last_use, mark_used, prune, space_of

MIB = 2**20


def stage(parent: Path, name: str, mib: int, used_ago: float) -> Path:
    """A stage ``name`` holding ``mib`` MiB of real bytes, last used ``used_ago`` s ago."""
    path = parent / name
    (path / "sub").mkdir(parents=True)
    (path / "filesystem.squashfs").write_bytes(os.urandom(mib * MIB))
    (path / "sub" / "vmlinuz").write_bytes(b"k" * 4096)
    marker = path / USED
    marker.touch()
    at = time.time() - used_ago
    os.utime(marker, (at, at))
    return path


def test_the_newest_by_use_and_the_current_are_kept_the_rest_removed_and_said(
    tmp_path: Path,
) -> None:
    roots = tmp_path / "root"
    current = stage(roots, "aaaa", 1, used_ago=4000)  # the oldest use, yet the one asked for
    newest = stage(roots, "bbbb", 2, used_ago=10)
    older = stage(roots, "cccc", 3, used_ago=2000)
    oldest = stage(roots, "dddd", 2, used_ago=3000)
    sizes = {p: space_of(p) for p in (older, oldest)}
    before = sum(space_of(p) for p in roots.iterdir())
    lines: list[str] = []

    done = prune(roots, keep=2, current=current, progress=lines.append)

    assert sorted(p.name for p in roots.iterdir()) == ["aaaa", "bbbb"]
    assert done.kept == (current, newest)
    assert dict(done.removed) == sizes
    assert done.freed >= 5 * MIB  # the bytes written: 3 + 2 MiB
    assert before - sum(space_of(p) for p in roots.iterdir()) == done.freed
    assert any(str(older) in line and "3.0 MiB" in line for line in lines)
    assert any(str(oldest) in line and "2.0 MiB" in line for line in lines)
    assert lines[-1].startswith(f"seed: cache {roots}: 2 removed, ")
    assert f"{done.freed / MIB:.1f} MiB freed; 2 kept" in lines[-1]


def test_a_stage_another_process_uses_is_kept_until_it_ends(tmp_path: Path) -> None:
    roots = tmp_path / "root"
    current = stage(roots, "aaaa", 1, used_ago=0)
    stage(roots, "bbbb", 1, used_ago=100)
    held = stage(roots, "cccc", 1, used_ago=5000)
    user = subprocess.Popen(  # a real process holding it, as a test session or image build does
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from strata.seed.cache import mark_used; "
         "mark_used(Path(sys.argv[1])); print('held', flush=True); sys.stdin.read()", str(held)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert user.stdout is not None and user.stdout.readline() == "held\n"
        done = prune(roots, keep=1, current=current)
        assert held.is_dir() and done.in_use == (held,)
        assert [p.name for p, _ in done.removed] == ["bbbb"]
    finally:
        assert user.stdin is not None
        user.stdin.close()
        user.wait(30)
    again = prune(roots, keep=1, current=current)
    assert [p.name for p, _ in again.removed] == ["cccc"] and not held.exists()


def test_a_stage_this_process_uses_is_never_removed(tmp_path: Path) -> None:
    roots = tmp_path / "root"
    mine = stage(roots, "aaaa", 1, used_ago=9000)
    mark_used(mine)  # now, and held for this process's life
    os.utime(mine / USED, (time.time() - 9000,) * 2)  # its use long ago again
    current = stage(roots, "bbbb", 1, used_ago=0)
    done = prune(roots, keep=1, current=current)
    assert mine.is_dir() and done.in_use == (mine,) and done.removed == ()


def test_mark_used_records_the_use(tmp_path: Path) -> None:
    path = stage(tmp_path, "aaaa", 0, used_ago=5000)
    mark_used(path)
    assert time.time() - last_use(path) < 60


def test_builds_in_progress_and_files_are_left_alone(tmp_path: Path) -> None:
    roots = tmp_path / "root"
    current = stage(roots, "aaaa", 0, used_ago=0)
    building = stage(roots, ".build-x1", 1, used_ago=9000)
    (roots / ".lock").write_text("")
    done = prune(roots, keep=1, current=current)
    assert building.is_dir() and (roots / ".lock").exists() and done.removed == ()


def test_a_missing_directory_prunes_nothing_and_keep_must_be_positive(tmp_path: Path) -> None:
    assert prune(tmp_path / "absent").removed == ()
    with pytest.raises(ValueError, match="keep must be at least 1"):
        prune(tmp_path, keep=0)
