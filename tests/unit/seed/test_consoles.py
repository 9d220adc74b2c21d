"""The seed's output on the other consoles (``strata.seed.consoles``): which consoles,
its own lines copied to them, and a command run on a real pseudo-terminal, its output
copied byte for byte to stdout and to each mirror while it still sees a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from strata.seed.consoles import Tee, open_mirrors, other_consoles


def test_the_other_consoles_are_all_but_dev_console_the_last_listed() -> None:
    assert other_consoles("tty0 ttyS0\n") == [Path("/dev/tty0")]  # the menu's default
    assert other_consoles("ttyS0 tty0\n") == [Path("/dev/ttyS0")]  # the "screen" entry
    assert other_consoles("ttyS0\n") == [] and other_consoles("") == []


def test_mirrors_are_opened_and_one_that_cannot_be_is_said_and_left_out(tmp_path: Path) -> None:
    said = io.StringIO()
    mirrors = open_mirrors(["none", str(tmp_path / "a"), str(tmp_path / "no" / "b")], said)
    assert [Path(m.name) for m in mirrors] == [tmp_path / "a"]
    assert f"consoles: {tmp_path / 'no' / 'b'}: No such file or directory" in said.getvalue()
    assert open_mirrors(["none"], said) == []


def test_tee_writes_the_stream_and_each_mirror_and_drops_a_failed_one(tmp_path: Path) -> None:
    stream = io.StringIO()
    first = (tmp_path / "first").open("ab", buffering=0)
    gone = _Gone()
    tee = Tee(stream, [first, gone])  # type: ignore[list-item]
    tee.write("strata seed: starting\n")
    tee.write("second\n")
    first.close()
    assert stream.getvalue() == "strata seed: starting\nsecond\n"
    assert (tmp_path / "first").read_bytes() == b"strata seed: starting\r\nsecond\r\n"
    assert tee.mirrors == [first] and gone.tries == 1  # dropped at its first failure


def test_a_command_runs_on_a_terminal_its_output_copied_to_stdout_and_mirrors(
    tmp_path: Path,
) -> None:
    """In a child process (its stdout a pipe, as under a test runner): the command
    says whether its stdout is a terminal, then exits 3."""
    script = (
        "import sys; from pathlib import Path; from strata.seed.consoles import run_mirrored; "
        "m = [Path(sys.argv[1]).open('ab', buffering=0)]; "
        "code = run_mirrored([sys.executable, '-c', "
        '\'import sys; print("tty" if sys.stdout.isatty() else "pipe", "x" * 70000); '
        "sys.exit(3)'], m); print('exit', code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "screen")],
        capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    mirrored = (tmp_path / "screen").read_bytes()
    assert mirrored.startswith(b"tty xxx") and mirrored.count(b"x") == 70000
    assert done.stdout == mirrored + b"exit 3\n"  # every byte, in order, then its code


class _Gone:
    """A mirror whose device went away: every write fails."""

    def __init__(self) -> None:
        self.tries = 0

    def write(self, data: bytes) -> int:
        self.tries += 1
        raise OSError(5, "Input/output error")
