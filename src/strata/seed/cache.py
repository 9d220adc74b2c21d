"""The seed's build cache (``~/.cache/strata/seed``): which stages are used, and pruning.

Each stage of the live system (``base/<digest>``, ``root/<digest>``: ``strata.seed.rootfs``)
is a directory named by the digest of its inputs. Every change to Strata's sources makes a
new ``root/``, every change of the package list or apt sources a new ``base/``, and each
is hundreds of MiB: without pruning the cache keeps every root it ever built.

- ``mark_used`` records a use (the mtime of ``STAGE/.used``) and holds a shared
  ``flock(2)`` on ``STAGE/.used`` for the rest of the process: the stage is *in use*
  while a process that got it runs (an image is being built from it, a test session
  boots it).
- ``prune`` keeps the ``keep`` stages used last and removes the others — never one that
  is in use (its lock cannot be taken exclusively), never a build in progress
  (``.build-*``) — and says what it removed and how much space that freed. A stage is
  first renamed to a hidden trash name beside it (``.trash-*``, atomic), then removed:
  a prune killed midway leaves no half stage under its digest's name, and the next prune
  clears the trash. Whatever is not a real directory (a symlink, a file) is left alone;
  a removal that fails is said, never raised (the build it follows succeeded).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["KEEP", "TRASH", "Pruned", "mark_used", "prune", "space_of"]

KEEP = 2  # stages of each kind kept, by last use
USED = ".used"
TRASH = ".trash-"  # a stage being removed: renamed first, then removed
_HELD: dict[Path, IO[str]] = {}  # the stages this process uses: their shared locks


@dataclass(frozen=True, slots=True)
class Pruned:
    """What ``prune`` did in one directory of stages: the stages removed, each with the
    bytes it took on disk, and those kept (newest use first)."""

    removed: tuple[tuple[Path, int], ...] = ()
    kept: tuple[Path, ...] = ()
    in_use: tuple[Path, ...] = field(default=())  # beyond ``keep``, held by a process

    @property
    def freed(self) -> int:
        """Bytes on disk the removed stages took (st_blocks, as du(1) counts)."""
        return sum(size for _, size in self.removed)


def mark_used(stage: Path) -> None:
    """Record a use of ``stage`` now and hold it in use until this process ends (a shared
    lock on ``STAGE/.used``; taken once per process). Raises OSError when ``stage`` is
    not a writable directory."""
    marker = stage / USED
    if stage not in _HELD:
        handle = marker.open("a")
        fcntl.flock(handle, fcntl.LOCK_SH)
        _HELD[stage] = handle
    os.utime(marker)


def last_use(stage: Path) -> float:
    """When ``stage`` was last used (its ``.used`` marker; the directory's mtime for a
    stage never marked), in seconds since the epoch."""
    marker = stage / USED
    return (marker if marker.exists() else stage).stat().st_mtime


def space_of(path: Path) -> int:
    """Bytes ``path`` takes on disk: every file's st_blocks * 512 (du(1)), links not followed."""
    total = 0
    for top, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            total += os.lstat(os.path.join(top, name)).st_blocks * 512
    return total + os.lstat(path).st_blocks * 512


def prune(
    parent: Path,
    keep: int = KEEP,
    current: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Pruned:
    """Remove the stages under ``parent`` beyond the ``keep`` used last, except
    ``current`` (always kept, counted among the ``keep``) and any in use by a process;
    ``progress`` gets one line per removal and one for the total. Builds in progress
    (``.build-*``) and files are left alone. Raises ValueError for ``keep`` < 1."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the stage in use), not {keep}")
    if not parent.is_dir():
        return Pruned()
    say = progress or (lambda _: None)
    _clear_trash(parent, say)
    stages = [p for p in parent.iterdir() if _real_dir(p) and not p.name.startswith(".")]
    stages.sort(key=lambda p: (p != current, -_last_use_or_0(p), p.name))
    kept, held, removed = list(stages[:keep]), [], []
    for stage in stages[keep:]:
        try:
            gone = _remove(stage)
        except OSError as exc:
            say(f"seed: could not remove {stage}: {exc.strerror or exc}; left in place")
            continue
        if gone is None:
            held.append(stage)
            continue
        removed.append((stage, gone[0]))
        say(f"seed: removed {stage} (last used {gone[1]}; {_mib(gone[0])} MiB)")
    done = Pruned(tuple(removed), tuple(kept), tuple(held))
    if removed:
        say(
            f"seed: cache {parent}: {len(removed)} removed, {_mib(done.freed)} MiB freed; "
            f"{len(kept) + len(held)} kept"
        )
    return done


def _remove(stage: Path) -> tuple[int, str] | None:
    """Remove ``stage`` unless a process uses it (None): renamed to a trash name first,
    then removed; its size and last use. Raises OSError when it cannot be."""
    with _claimed(stage) as free:
        if not free:
            return None
        size = space_of(stage)
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(last_use(stage)))
        trash = stage.with_name(f"{TRASH}{stage.name}-{os.getpid()}")
        os.rename(stage, trash)  # atomic: the digest's name is gone or whole
        shutil.rmtree(trash)
    return size, used


def _clear_trash(parent: Path, say: Callable[[str], None]) -> None:
    """Remove what an earlier prune, killed midway, left under a trash name."""
    for trash in parent.glob(f"{TRASH}*"):
        if not _real_dir(trash):
            continue
        try:
            shutil.rmtree(trash)
        except FileNotFoundError:
            pass  # another prune cleared it meanwhile
        except OSError as exc:
            say(f"seed: could not remove {trash}: {exc.strerror or exc}; left in place")
        else:
            say(f"seed: removed {trash} (left by an interrupted prune)")


def _real_dir(path: Path) -> bool:
    """A directory itself, not a symlink to one (lstat(2))."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _last_use_or_0(stage: Path) -> float:
    try:
        return last_use(stage)
    except OSError:
        return 0.0


@contextmanager
def _claimed(stage: Path) -> Iterator[bool]:
    """True, holding ``stage``'s marker exclusively while inside, when no process holds it
    in use; False when one does (this process's own stages included: their shared locks
    are on other open files, which flock(2) tells apart)."""
    marker = stage / USED
    if not marker.exists():
        yield True
        return
    with marker.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"
