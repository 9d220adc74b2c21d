"""The seed's output on every console the kernel line names, not only ``/dev/console``.

The boot menus give the kernel ``console=tty0 console=ttyS0,115200n8``: its own messages
go to both, but a process writing to ``/dev/console`` reaches one — the last ``console=``
(the serial port; the "screen" entry swaps them). A person at the machine's screen would
see nothing of Strata. So `strata seed start --mirror auto` writes what it says, and
what `strata apply` prints, to the others too:

- ``other_consoles``: the active consoles (``/sys/class/tty/console/active``, which
  lists them with ``/dev/console``'s last: drivers/tty/tty_io.c, ``show_cons_active``)
  but that one; ``tty0`` is the foreground virtual terminal (tty1 on the live system,
  whose getty is masked);
- ``Tee``: the seed's own stdout/stderr, written to the mirrors as well;
- ``run_mirrored``: `strata apply` on a pseudo-terminal (it still sees a terminal and
  draws its live view, sized as ``/dev/console``), every byte copied to stdout and to
  each mirror.

Input (the passphrase prompt) is read from ``/dev/console`` only.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import subprocess
import sys
import termios
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["ACTIVE", "Tee", "open_mirrors", "other_consoles", "run_mirrored"]

ACTIVE = Path("/sys/class/tty/console/active")


def other_consoles(active: str) -> list[Path]:
    """The device of each console in ``active`` (the contents of ``ACTIVE``: names
    separated by spaces, ``/dev/console``'s last) but ``/dev/console``'s own."""
    names = active.split()
    return [Path("/dev") / name for name in names[:-1]]


def open_mirrors(targets: Sequence[str], say: IO[str]) -> list[IO[bytes]]:
    """The mirrors ``targets`` name, open for writing: ``auto`` (``other_consoles`` of
    this machine), ``none``, or paths (a terminal, a file: appended to). One that cannot
    be opened is said on ``say`` and left out."""
    paths: list[Path] = []
    for target in targets:
        if target == "auto":
            try:
                paths += other_consoles(ACTIVE.read_text())
            except OSError as exc:
                print(f"consoles: {ACTIVE}: {exc.strerror}; no other console", file=say)
        elif target != "none":
            paths.append(Path(target))
    opened: list[IO[bytes]] = []
    for path in dict.fromkeys(paths):
        try:
            opened.append(path.open("ab", buffering=0))
        except OSError as exc:
            print(f"consoles: {path}: {exc.strerror}; not written to", file=say)
    return opened


class Tee:
    """A text stream that writes to ``stream`` and to each of ``mirrors`` (bytes, each
    line with a carriage return for a terminal's sake); a mirror that fails is dropped."""

    def __init__(self, stream: Any, mirrors: list[IO[bytes]]) -> None:
        self.stream, self.mirrors = stream, mirrors

    def write(self, text: str) -> int:
        written: int = self.stream.write(text)
        _copy(
            text.replace("\r\n", "\n").replace("\n", "\r\n").encode(errors="replace"), self.mirrors
        )
        return written

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(self.stream.isatty())

    def fileno(self) -> int:
        return int(self.stream.fileno())

    def __getattr__(self, name: str) -> Any:  # encoding, errors, buffer...
        return getattr(self.stream, name)


def run_mirrored(command: Sequence[str], mirrors: list[IO[bytes]]) -> int:
    """Run ``command`` on a pseudo-terminal the size of this stdout's, copying its output
    to stdout and to each of ``mirrors`` until it ends; its exit code (negative: the
    signal that ended it)."""
    master, slave = pty.openpty()
    _same_size(sys.stdout, slave)
    sys.stdout.flush()
    process = subprocess.Popen(list(command), stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: every writer of the terminal has closed it
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            if out is not None:
                out.write(chunk)
                out.flush()
            _copy(chunk, mirrors)
    finally:
        os.close(master)
    return process.wait()


def _copy(data: bytes, mirrors: list[IO[bytes]]) -> None:
    for mirror in list(mirrors):
        try:
            mirror.write(data)
        except OSError:
            mirrors.remove(mirror)  # a console gone (or a full disk): the rest go on


def _same_size(stream: Any, fd: int) -> None:
    """The pseudo-terminal ``fd`` given ``stream``'s window size when it is a terminal
    that knows its own (a serial port reports 0 x 0: then left as is, rich's 80)."""
    try:
        size = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
    except (OSError, ValueError, AttributeError):
        return
    if size[:4] != b"\0\0\0\0":
        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
