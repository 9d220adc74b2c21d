"""The SQLite state file on disk: created whole, opened only when it is what it claims to
be, private whatever the umask, and watched so that a controller notices when it is
removed or replaced underneath it.

Losing the state must never look like a new datacenter: a new datacenter would be
powered on and installed from scratch. So a state file is only ever *created* here,
whole (initialised in a private temporary file, then linked into place, which fails
rather than overwrite), and an existing file that is empty, not SQLite, or not
Strata's is refused with ``StateDamaged``. The file holds the key that signs boot
tokens: it and its WAL and shared-memory files are 0600 and its directory, when Strata
creates it, 0700 (SQLite gives ``-wal``/``-shm`` the database file's permissions:
sqlite.org/tempfiles.html, "robust_open" in os_unix.c).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from strata.errors import StrataError

__all__ = [
    "SIDE_FILES",
    "StateDamaged",
    "StateFile",
    "StateFileError",
    "StateLost",
    "write_private",
]

log = logging.getLogger("strata.store")

SQLITE_MAGIC = (
    b"SQLite format 3\x00"  # the first 16 bytes of every database (sqlite.org/fileformat.html)
)
SIDE_FILES = ("-wal", "-shm", "-journal")
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


class StateFileError(StrataError):
    """The state file cannot be trusted; nothing was changed. ``hint`` says what to do."""

    kind = "state-file"
    exit_code = 2

    def __init__(self, path: Path, problem: str, hint: str) -> None:
        super().__init__(f"state file {path}: {problem}")
        self.path, self.problem, self.hint = path, problem, hint


class StateDamaged(StateFileError):
    """An existing state file that is empty, unreadable, not SQLite or not Strata's."""


class StateLost(StateFileError):
    """The state file was removed or replaced while a controller had it open."""


_RESTORE = (
    "restore it from a backup; or, to start over, move it away: Strata then looks at every "
    "server's power before touching it, and holds running ones for `strata adopt`"
)


@dataclass(frozen=True, slots=True)
class StateFile:
    """A state file that passed ``open_checked``: where it is and which inode it was."""

    path: Path
    device: int
    inode: int

    @classmethod
    def open_checked(
        cls, path: Path, initialise: Callable[[sqlite3.Connection], None]
    ) -> StateFile:
        """Create the file whole when there is none; otherwise check what is there.

        Raises ``StateDamaged`` for an empty, unreadable, foreign or non-SQLite file, one
        in a directory others may write, and for a WAL left without its database."""
        try:
            _check_directory(path)
            if not path.exists() and not path.is_symlink():
                _refuse_orphans(path)
                _create(path, initialise)
        except OSError as exc:
            raise StateDamaged(
                path,
                f"cannot be reached ({exc.strerror})",
                "check the permissions of its directory",
            ) from None
        st = _check(path)
        for suffix in SIDE_FILES:
            side = path.with_name(path.name + suffix)
            if side.exists():
                _make_private(side, os.stat(side))
        return cls(path, st.st_dev, st.st_ino)

    def verify(self, same_state: bool = True) -> None:
        """``StateLost`` when the path no longer names the file that was opened (removed,
        or replaced by a restore, a copy or ``rm``+re-create under a running controller)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StateLost(
                self.path, "was removed while Strata had it open", "stop and restore it"
            ) from None
        if (st.st_dev, st.st_ino) != (self.device, self.inode) or not same_state:
            raise StateLost(
                self.path,
                "was replaced by another file while Strata had it open",
                "start Strata again to work from the file that is there now",
            )


def _create(path: Path, initialise: Callable[[sqlite3.Connection], None]) -> None:
    _private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.new-{os.getpid()}")
    fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
    os.close(fd)
    os.chmod(temporary, PRIVATE_FILE)  # a umask cannot widen it, but can narrow it to 0o000
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            initialise(db)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # never over one another process made
            os.link(temporary, path)
    finally:
        for suffix in ("", *SIDE_FILES):
            temporary.with_name(temporary.name + suffix).unlink(missing_ok=True)


def _private_dir(directory: Path) -> None:
    """Create ``directory`` (and missing parents) 0700; an existing one is left as it is."""
    missing = []
    for parent in (directory, *directory.parents):
        if parent.exists():
            break
        missing.append(parent)
    for created in reversed(missing):
        created.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(created, PRIVATE_DIR)


def _check_directory(path: Path) -> None:
    """The directory holding the state: a directory, and writable by its owner only (others
    could plant a WAL file SQLite would replay into it). One Strata owns and that others
    may write is made 0700, with a warning; anyone else's is refused."""
    directory = path.parent
    if not directory.exists():
        return  # made 0700 with the file
    if not directory.is_dir():
        raise StateDamaged(
            path, f"{directory} is not a directory", "give --state a file in a directory"
        )
    st = os.stat(directory)
    if st.st_mode & 0o022 == 0:
        return
    if st.st_uid == os.geteuid() and not st.st_mode & stat.S_ISVTX:
        os.chmod(directory, PRIVATE_DIR)
        log.warning("state directory %s was writable by others; made it 0700", directory)
        return
    raise StateDamaged(
        path,
        f"its directory {directory} may be written by others (mode {stat.S_IMODE(st.st_mode):o})",
        "keep the state in a directory only you can write: --state DIR/strata.db",
    )


def _refuse_orphans(path: Path) -> None:
    """A WAL or shared-memory file without its database: SQLite would replay it into a new
    file of the same name (sqlite.org/wal.html), resurrecting a state that was removed."""
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists() or side.is_symlink():
            raise StateDamaged(
                path,
                f"does not exist, but {side.name} does: the state was removed while in use",
                f"restore {path.name} beside it, or move {side.name} away to start afresh",
            )


def _check(path: Path) -> os.stat_result:
    try:
        if path.is_symlink() and not path.exists():
            raise StateDamaged(path, "is a symbolic link to nothing", _RESTORE)
        st = os.stat(path)
        if st.st_uid != os.geteuid():
            raise StateDamaged(
                path,
                f"belongs to uid {st.st_uid}, not to the user running Strata (uid {os.geteuid()})",
                "run Strata as its owner, or chown the file if it is yours",
            )
        if not stat.S_ISREG(st.st_mode):
            raise StateDamaged(path, "is not a regular file", _RESTORE)
        if st.st_size == 0:
            raise StateDamaged(path, "is empty (0 bytes): it was truncated", _RESTORE)
        with open(path, "rb") as stream:
            magic = stream.read(len(SQLITE_MAGIC))
    except PermissionError:
        raise StateDamaged(
            path, "cannot be read (permission denied)", "run Strata as its owner"
        ) from None
    except OSError as exc:
        raise StateDamaged(path, f"cannot be read ({exc.strerror})", _RESTORE) from None
    if magic != SQLITE_MAGIC:
        raise StateDamaged(path, "is not a SQLite database", _RESTORE)
    _make_private(path, st)
    return st


def _make_private(path: Path, st: os.stat_result) -> None:
    if st.st_mode & 0o077 == 0:
        return
    try:
        os.chmod(path, PRIVATE_FILE)
    except PermissionError:
        raise StateDamaged(
            path,
            f"is readable by others (mode {stat.S_IMODE(st.st_mode):o}) and cannot be fixed",
            f"chmod 600 {path}: it holds the key that signs boot tokens",
        ) from None
    log.warning(
        "state file %s was mode %o, readable by others; made it 0600 (it holds the key that "
        "signs boot tokens: rotate it if others may have read it)",
        path,
        stat.S_IMODE(st.st_mode),
    )


def write_private(path: Path, text: str) -> None:
    """``text`` at ``path`` whole or not at all, mode 0600 from its first byte (a file
    beside the state: a kubeconfig holding a client key, a pid file): written to a
    temporary file beside it (``mkstemp``: 0600), flushed, renamed over it
    (``os.replace``, atomic on POSIX), so a wider mode of a file already there never
    carries over; its directory made 0700 when absent. ``OSError`` as raised."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
