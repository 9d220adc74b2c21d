"""The seed's build cache when it holds odd entries or a prune was cut short
(``strata.seed.cache``, ``strata.seed.rootfs``): real directories, symlinks and a real
process killed while it removes a stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from strata.seed.cache import TRASH, USED, prune
from strata.seed.rootfs import _set_aside


def aged(path: Path, ago: float) -> Path:
    """``path`` (a directory, made) with its use ``ago`` seconds in the past."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "f").write_text("x")
    at = time.time() - ago
    os.utime(path, (at, at))
    return path


def test_a_symlink_and_a_file_are_left_alone_and_the_old_stages_still_removed(
    tmp_path: Path,
) -> None:
    roots = tmp_path / "root"
    current = aged(roots / "cccc", 0)
    old = [aged(roots / "aaaa", 3000), aged(roots / "bbbb", 2000)]
    outside = aged(tmp_path / "outside", 9000)
    os.symlink(outside, roots / "zlink")
    os.utime(roots / "zlink", (1, 1), follow_symlinks=False)
    (roots / "stray").write_text("a file")
    said: list[str] = []
    done = prune(roots, keep=1, current=current, progress=said.append)
    assert sorted(p.name for p, _ in done.removed) == ["aaaa", "bbbb"]
    assert not any(p.exists() for p in old)
    assert (roots / "zlink").is_symlink() and (outside / "f").read_text() == "x"
    assert (roots / "stray").read_text() == "a file"


def test_a_removal_that_fails_is_said_and_the_others_go_on(tmp_path: Path) -> None:
    roots = tmp_path / "root"
    current = aged(roots / "cccc", 0)
    odd = aged(roots / "aaaa", 4000)
    (odd / USED).mkdir()  # its marker cannot be opened to take the lock
    os.utime(odd / USED, (1, 1))
    later = aged(roots / "bbbb", 2000)
    said: list[str] = []
    done = prune(roots, keep=1, current=current, progress=said.append)
    assert [p.name for p, _ in done.removed] == ["bbbb"] and not later.exists()
    assert odd.is_dir()
    assert any(line.startswith(f"seed: could not remove {odd}: ") for line in said), said


PRUNE = (
    "import sys; from pathlib import Path; from strata.seed.cache import prune; "
    "prune(Path(sys.argv[1]), 1, current=Path(sys.argv[2]))"
)


def test_a_prune_killed_midway_leaves_no_half_stage_under_its_name(tmp_path: Path) -> None:
    roots = tmp_path / "root"
    current = aged(roots / "cccc", 0)
    old = aged(roots / "aaaa", 4000)
    (old / "filesystem.squashfs").write_bytes(b"s" * 4096)
    many = old / "many"
    many.mkdir()
    for i in range(20000):
        (many / f"f{i}").write_bytes(b"")
    os.utime(old, (1, 1))
    proc = subprocess.Popen([sys.executable, "-c", PRUNE, str(roots), str(current)])
    try:  # killed once the removal began: the stage gone from its name, or files from it
        while not _removing(old, many) and proc.poll() is None:
            time.sleep(0.001)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not old.exists()  # gone whole from its name, however far the removal got
    said: list[str] = []
    prune(roots, keep=1, current=current, progress=said.append)
    assert sorted(p.name for p in roots.iterdir()) == ["cccc"]


def _removing(stage: Path, many: Path) -> bool:
    try:
        return not stage.exists() or len(os.listdir(many)) < 20000
    except FileNotFoundError:
        return True


def test_a_damaged_stage_at_the_build_name_is_set_aside_and_then_cleared(
    tmp_path: Path,
) -> None:
    roots = tmp_path / "root"
    out = aged(roots / "dddd", 10)  # half removed: no squashfs, files left
    (out / "many").mkdir()
    work = roots / ".build-x"
    work.mkdir()
    (work / "filesystem.squashfs").write_bytes(b"new")
    said: list[str] = []
    _set_aside(out, said.append)
    os.replace(work, out)
    assert (out / "filesystem.squashfs").read_bytes() == b"new"
    assert sorted(p.name for p in out.iterdir()) == ["filesystem.squashfs"]
    assert said and "damaged" in said[0]
    prune(roots, keep=1, current=out, progress=said.append)
    assert not list(roots.glob(f"{TRASH}*")) and out.is_dir()
    _set_aside(roots / "absent", said.append)  # nothing there: nothing done
