"""Read a file that topology.yaml names: one implementation for every path field.

A topology names files in three places — a password (``credentials[].password.file``),
an Ignition fragment (``ignition[].file``) and a BMC's CA bundle (``bmc.caBundle``) —
and whatever names one later goes through here too. The rules (docs/topology.md,
"Files the topology names"):

- a relative path is relative to the topology's directory; once every symbolic link
  is resolved, the file lies inside that directory or inside a directory the person
  running Strata allows in ``STRATA_ALLOWED_DIRS`` (absolute directories separated by
  ``:``). The file itself cannot widen what it may name;
- it is a regular file: not a directory, device (``/dev/zero``), FIFO or socket;
- it holds at most its kind's ``max_bytes``; all the files of one check at most
  ``MAX_NAMED_BYTES`` together;
- a private kind (a password) is accessible to its owner only, as OpenSSH requires
  of a private key (``sshkey_perm_ok`` in OpenSSH's authfile.c: no group or other bits).

The same checks run when ``strata validate`` reads the file and again when Strata uses
it, on the opened descriptor: the file is opened without following a final symbolic
link and without blocking (a FIFO swapped in cannot hang the reader), ``fstat`` decides
what it is, its real location is checked again through ``/proc/self/fd``, and it is read
up to the bound. A file swapped after ``validate`` — or between the checks and the
``open`` — is refused, not read. Messages name paths, never contents.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from strata.topology.diagnostics import printable

__all__ = [
    "ALLOWED_DIRS_ENV",
    "CA_BUNDLE",
    "CREDENTIALS",
    "IGNITION_FRAGMENT",
    "MAX_NAMED_BYTES",
    "TOPOLOGY",
    "FileKind",
    "NamedFileError",
    "NamedFiles",
    "read_regular",
]

ALLOWED_DIRS_ENV = "STRATA_ALLOWED_DIRS"
MAX_NAMED_BYTES = 1024 * 1024
"""All the files one check reads, together, in bytes. It bounds the time a check takes:
the dearest file is a fragment of dense YAML (``[0,0,0,…]``: two bytes a node, about
90 µs a node in ruamel's round-trip parser), so a mebibyte of such fragments costs under
a minute on a 2-core machine (docs/topology.md, "Limits", has the measurements)."""

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_PRIVATE_BITS = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True, slots=True)
class FileKind:
    """What a named file holds, and the bounds that come with it."""

    what: str  # as messages name it: "credentials file"
    max_bytes: int  # the largest file accepted, in bytes
    private: bool = False  # owner-only permissions required (chmod 600)


CREDENTIALS = FileKind("credentials file", 4 * 1024, private=True)
IGNITION_FRAGMENT = FileKind("Ignition fragment", 256 * 1024)
"""A fragment is tens of kilobytes in practice (units, files, users); a larger file is
better fetched by Ignition from a URL (``contents.source``) than embedded."""
CA_BUNDLE = FileKind("CA bundle", 512 * 1024)
"""Twice the size of the whole Mozilla trust store (about 220 KB as ca-certificates.crt)."""
TOPOLOGY = FileKind("topology file", 16 * 1024 * 1024)  # the file itself: read, not named


class NamedFileError(Exception):
    """A named file may not be read, or is not what its kind requires.

    ``missing`` and ``denied`` tell a file that is absent, or that this user may not
    open, from one that is refused; the message names the path, never the contents, with
    its control characters escaped (``diagnostics.printable``): it names what
    topology.yaml wrote.
    """

    def __init__(
        self, message: str, hint: str | None = None, *, missing: bool = False, denied: bool = False
    ) -> None:
        message, hint = printable(message), None if hint is None else printable(hint)
        super().__init__(message)
        self.message, self.hint, self.missing, self.denied = message, hint, missing, denied

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NamedFiles:
    """The files one topology may name: those inside its directory or an allowed one.

    One instance serves one check (or one use) and counts the bytes it reads against
    ``budget``.
    """

    def __init__(
        self, base_dir: Path, allowed: Sequence[Path] = (), budget: int = MAX_NAMED_BYTES
    ) -> None:
        """``base_dir``: the topology's directory; ``allowed``: absolute directories."""
        for directory in allowed:
            if not directory.is_absolute():
                raise NamedFileError(
                    f"{ALLOWED_DIRS_ENV} holds '{directory}', not an absolute directory"
                )
        self.base_dir = Path(os.path.realpath(base_dir))
        self.roots = (self.base_dir, *(Path(os.path.realpath(d)) for d in allowed))
        self.budget = budget

    @classmethod
    def beside(cls, topology_dir: Path, environ: Mapping[str, str] | None = None) -> NamedFiles:
        """For a topology in ``topology_dir``, with the allowance of ``STRATA_ALLOWED_DIRS``.

        Raises ``NamedFileError`` when the variable holds a relative directory.
        """
        env = os.environ if environ is None else environ
        allowed = [Path(d) for d in env.get(ALLOWED_DIRS_ENV, "").split(os.pathsep) if d]
        return cls(topology_dir, allowed)

    def resolve(self, name: str, kind: FileKind) -> Path:
        """The real path ``name`` stands for (symbolic links resolved), when it may be read.

        Raises ``NamedFileError`` for an empty name or a path outside every allowed root.
        """
        if not name or "\0" in name:
            raise NamedFileError(f"{kind.what}: '{name}' is not a file name")
        written = self.base_dir / name
        real = Path(os.path.realpath(written))
        if not self._inside(real):
            shown = f" (it resolves to {real})" if real != Path(os.path.normpath(written)) else ""
            allowed = f" and those {ALLOWED_DIRS_ENV} allows" if len(self.roots) > 1 else ""
            raise NamedFileError(
                f"{kind.what} '{name}' is outside the topology's directory "
                f"{self.base_dir}{allowed}{shown}",
                f"put it beside topology.yaml, or allow its directory: {ALLOWED_DIRS_ENV}=DIR",
            )
        return real

    def read(self, name: str, kind: FileKind) -> bytes:
        """The file's contents, at most ``kind.max_bytes``, after every check on the opened file.

        Raises ``NamedFileError`` (``missing``: no such file; ``denied``: this user may
        not open it) for anything refused.
        """
        real = self.resolve(name, kind)
        data = read_regular(real, kind, name, self._inside)
        if len(data) > self.budget:
            raise NamedFileError(
                f"{kind.what} '{name}': the files this topology names hold more than "
                f"{MAX_NAMED_BYTES:,} bytes together"
            )
        self.budget -= len(data)
        return data

    def _inside(self, real: Path) -> bool:
        return any(real.is_relative_to(root) for root in self.roots)


def read_regular(
    path: Path,
    kind: FileKind,
    name: str | None = None,
    inside: Callable[[Path], bool] | None = None,
) -> bytes:
    """Read a regular file of ``kind`` through one descriptor, at most ``kind.max_bytes``.

    ``inside``, when given, must accept the opened file's real location. Raises
    ``NamedFileError``; the message calls the file ``name`` (default: the path).
    """
    shown = name if name is not None else str(path)
    try:
        _refuse_odd(os.stat(path), kind, shown)  # before opening: opening a device acts
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _os_error(exc, kind, shown) from None
    try:
        info = os.fstat(fd)
        _refuse_odd(info, kind, shown)
        if inside is not None and not inside(_opened_location(fd, path, info)):
            raise NamedFileError(f"{kind.what} '{shown}' moved outside the allowed directories")
        return _read_bounded(fd, kind, shown)
    except OSError as exc:
        raise _os_error(exc, kind, shown) from None
    finally:
        os.close(fd)


def _refuse_odd(info: os.stat_result, kind: FileKind, name: str) -> None:
    """Refuse what is not a regular file of the right size and permissions."""
    if not stat.S_ISREG(info.st_mode):
        raise NamedFileError(
            f"{kind.what} '{name}' is {_file_type(info.st_mode)}, not a regular file"
        )
    if info.st_size > kind.max_bytes:
        raise NamedFileError(
            f"{kind.what} '{name}' is {info.st_size:,} bytes; the limit is {kind.max_bytes:,}"
        )
    if kind.private and info.st_mode & _PRIVATE_BITS:
        raise NamedFileError(
            f"{kind.what} '{name}' is open to group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o})",
            f"chmod 600 {name}",
        )


def _opened_location(fd: int, path: Path, info: os.stat_result) -> Path:
    """Where the opened file really is: /proc/self/fd on Linux, else its path re-checked."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        again = os.stat(path)
        if (again.st_dev, again.st_ino) != (info.st_dev, info.st_ino):
            raise NamedFileError(f"'{path}' changed while it was being opened") from None
        return Path(os.path.realpath(path))


def _read_bounded(fd: int, kind: FileKind, name: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= kind.max_bytes:
        chunk = os.read(fd, min(65536, kind.max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise NamedFileError(f"{kind.what} '{name}' grew past the limit of {kind.max_bytes:,} bytes")


def _os_error(exc: OSError, kind: FileKind, name: str) -> NamedFileError:
    if exc.errno == errno.ENOENT:
        return NamedFileError(f"{kind.what} '{name}' does not exist", missing=True)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return NamedFileError(
            f"{kind.what} '{name}' cannot be opened: permission denied", denied=True
        )
    if exc.errno == errno.ELOOP:
        return NamedFileError(f"{kind.what} '{name}' was replaced by a symbolic link")
    return NamedFileError(f"{kind.what} '{name}' cannot be read: {exc.strerror}")


def _file_type(mode: int) -> str:
    for test, what in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return what
    return "not a regular file"
