"""`strata seed build` at a terminal asks the passphrase twice, echoing neither, and
refuses two that differ; without a terminal it asks nothing and says what to give."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from strata.seed.payload import read_contents, read_directory
from strata.seed.sealed import unseal
from tests.unit.seed.conftest import PASSWORD, seed_topology

HANG_GUARD = 120.0  # seconds without a byte on the terminal
PHRASE = "typed at the terminal"


PROMPTS = (b"seed passphrase:", b"Repeat for confirmation:")  # click's second prompt


def on_a_terminal(argv: list[str], answers: list[str]) -> tuple[int, str]:
    """``argv`` on a pseudo-terminal (its controlling terminal); each prompt shown is
    answered with the next of ``answers``. The exit code and what the terminal showed."""
    env = os.environ | {"STRATA_LAB_BMC_PASSWORD": PASSWORD}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    shown, left, asked = b"", list(answers), 0
    while True:
        if not select.select([fd], [], [], HANG_GUARD)[0]:
            os.kill(pid, 9)
            pytest.fail(f"waits on its terminal for nothing asked:\n{shown!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        while sum(shown.count(p) for p in PROMPTS) > asked and left:
            asked += 1
            os.write(fd, left.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def build_argv(tmp_path: Path) -> list[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    topology = site / "topology.yaml" if (site / "topology.yaml").exists() else seed_topology(site)
    return [sys.executable, "-m", "strata.cli.app", "seed", "build", str(topology),
            "-o", str(tmp_path / "medium"), "--directory"]  # fmt: skip


def test_the_passphrase_is_asked_twice_and_not_echoed(tmp_path: Path) -> None:
    code, shown = on_a_terminal(build_argv(tmp_path), [PHRASE, PHRASE])
    assert code == 0, shown
    assert "seed passphrase:" in shown and "Repeat for confirmation:" in shown
    assert PHRASE not in shown and PASSWORD not in shown
    contents = read_contents(read_directory(tmp_path / "medium" / "strata"))
    assert unseal(contents.secrets or b"", PHRASE).reveal("credentials/lab-bmc") == PASSWORD


def test_two_different_passphrases_are_not_taken(tmp_path: Path) -> None:
    answers = [PHRASE, PHRASE + "!", PHRASE, PHRASE]  # click asks again after a mismatch
    code, shown = on_a_terminal(build_argv(tmp_path), answers)
    assert "the two entered values do not match" in shown.lower()
    assert code == 0, shown


def test_without_a_terminal_nothing_is_asked(tmp_path: Path) -> None:
    env = os.environ | {"STRATA_LAB_BMC_PASSWORD": PASSWORD}
    done = subprocess.run(build_argv(tmp_path), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "give --passphrase-file (no terminal to ask at), or --plaintext-secrets" in done.stderr
    assert not (tmp_path / "medium").exists()
