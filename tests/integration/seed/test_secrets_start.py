"""`strata seed start` as the live system runs it, a real process against a medium's
directory that `strata seed build --directory` wrote: it prints its start line first,
refuses without a passphrase and with a wrong one (saying why, exit 2), and with the
right one — from a file or the kernel command line — unseals the secrets into a private
run directory and gets to `strata apply` (a dry run: validated and said; and for real,
where apply itself stops at the boot URL, this host having no address on the lab's
provisioning network)."""

from __future__ import annotations

import ipaddress
import os
import select
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.seed.conftest import run_strata
from tests.unit.seed.conftest import PASSWORD, seed_topology

PHRASE = "a long seed passphrase"
HANG_GUARD = 120.0  # seconds without a byte on the terminal
START_LINE = "strata seed: starting"


strata = run_strata


@pytest.fixture
def medium(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    topology = seed_topology(site)
    (tmp_path / "phrase").write_text(PHRASE + "\n")
    env = os.environ | {"STRATA_LAB_BMC_PASSWORD": PASSWORD}
    built = strata(
        "seed", "build", str(topology), "-o", str(tmp_path / "medium"), "--directory",
        "--node", "lab-seed", "--passphrase-file", str(tmp_path / "phrase"), env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert PASSWORD not in built.stdout + built.stderr
    return tmp_path / "medium"


def start(
    medium: Path, *args: str, cmdline: str = "boot=live quiet\n"
) -> subprocess.CompletedProcess[str]:
    line = medium.parent / "cmdline"
    line.write_text(cmdline)
    env = {k: v for k, v in os.environ.items() if k != "STRATA_LAB_BMC_PASSWORD"}
    run = medium.parent / "run"
    done = strata("seed", "start", "--medium", str(medium), "--run-dir", str(run),
                  "--cmdline", str(line), *args, env=env)  # fmt: skip
    assert done.stdout.splitlines()[0] == START_LINE  # first, whatever follows
    assert PASSWORD not in done.stdout + done.stderr and PHRASE not in done.stdout + done.stderr
    return done


def test_without_a_passphrase_the_seed_refuses_and_says_why(medium: Path) -> None:
    done = start(medium, "--dry-run")
    assert done.returncode == 2
    assert "sealed and no passphrase was given, so Strata does not start" in done.stderr
    assert "strata.seed.passphrase=" in done.stderr  # the hint: where to give it
    assert not (medium.parent / "run").exists()


def test_with_a_wrong_passphrase_the_seed_refuses_and_says_why(medium: Path) -> None:
    done = start(medium, "--dry-run", cmdline="boot=live strata.seed.passphrase=not-the-one\n")
    assert done.returncode == 2
    assert "the passphrase does not open the seed's secrets" in done.stderr
    assert not (medium.parent / "run").exists()


def test_a_changed_medium_is_refused(medium: Path) -> None:
    topology = medium / "strata" / "topology.yaml"
    topology.write_text(topology.read_text() + "# changed\n")
    done = start(medium, "--dry-run")
    assert done.returncode == 2 and "does not match its SHA-256" in done.stderr


def test_with_the_passphrase_the_seed_gets_to_strata_apply(medium: Path) -> None:
    phrase = medium.parent / "phrase"
    done = start(medium, "--dry-run", "--passphrase-file", str(phrase))
    assert done.returncode == 0, done.stderr
    assert "unsealed with the passphrase from --passphrase-file" in done.stdout
    assert "strata validate: ✓" in done.stdout and "4 nodes" in done.stdout
    assert "would run strata apply -f " in done.stdout
    assert "--copy-credentials" in done.stdout  # layer mgmt has pivot: true
    assert "--seed-node lab-seed" in done.stdout  # held, then handed over after the pivot
    assert (
        "node lab-seed: the seed's own machine (this one): held, untouched, until the pivot "
        "into layer mgmt; then lab-seed is written to spec.consent.allowReprovision"
    ) in done.stdout
    run = medium.parent / "run"
    for path in [run, *run.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert (run / "secrets" / "lab-bmc").read_text() == PASSWORD + "\n"


def test_the_kernel_command_line_passphrase_runs_apply_itself(medium: Path) -> None:
    """No --dry-run: `strata apply` runs on the run directory's topology and reads it;
    this host has no NIC of the seed node (no MAC matches), so nothing is set up and
    apply stops before powering anything: no boot URL on the provisioning network."""
    from strata.boot.reach import local_addresses

    lab = ipaddress.ip_network("192.168.110.0/24")
    if any(a in lab for addresses in local_addresses().values() for a in addresses):
        pytest.skip("this host has an address on the lab's provisioning network")
    done = start(medium, cmdline=f'boot=live strata.seed.passphrase="{PHRASE}"\n')
    assert "unsealed with the passphrase from the kernel command line" in done.stdout
    assert "no interface has MAC 52:54:00:10:00:04; nothing set up" in done.stdout
    assert "running: strata apply -f" in done.stdout
    assert done.returncode == 2, done.stderr
    assert "no address on provisioning (192.168.110.0/24)" in done.stderr


def _on_a_terminal(medium: Path, typed: list[str]) -> tuple[int, str]:
    """`strata seed start --dry-run` on a pseudo-terminal (its controlling terminal, as
    the console is the unit's): each line of ``typed`` answers a passphrase prompt.
    Returns the exit code and everything the terminal showed."""
    import pty

    line = medium.parent / "cmdline"
    line.write_text("boot=live\n")
    argv = [sys.executable, "-m", "strata.cli.app", "seed", "start", "--medium", str(medium),
            "--run-dir", str(medium.parent / "run"), "--cmdline", str(line), "--dry-run"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "STRATA_LAB_BMC_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the terminal
        os.execve(argv[0], argv, env)
    shown, answers = b"", list(typed)
    while True:
        if not select.select([fd], [], [], HANG_GUARD)[0]:
            os.kill(pid, 9)
            pytest.fail(f"the seed waits on its terminal for nothing asked:\n{shown!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if shown.count(b"seed passphrase:") > len(typed) - len(answers) and answers:
            os.write(fd, answers.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_at_the_console_the_seed_asks_for_the_passphrase(medium: Path) -> None:
    code, shown = _on_a_terminal(medium, ["typo-typo", PHRASE])
    assert code == 0, shown
    assert shown.splitlines()[0].strip() == START_LINE
    assert "does not open the seed's secrets; again (1/3)" in shown
    assert "unsealed with the passphrase from the console" in shown
    assert PHRASE not in shown and "typo-typo" not in shown  # not echoed
    assert PASSWORD not in shown


def test_a_medium_with_an_artifact_written_short_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    topology = seed_topology(site)
    mirror = site / "artifacts" / "flatcar" / "4081.2.0"
    mirror.mkdir(parents=True)
    (mirror / "flatcar_production_pxe.vmlinuz").write_bytes(b"k" * 8192)
    env = os.environ | {"STRATA_LAB_BMC_PASSWORD": PASSWORD}
    medium = tmp_path / "medium"
    built = strata("seed", "build", str(topology), "-o", str(medium), "--directory",
                   "--plaintext-secrets", env=env)  # fmt: skip
    assert built.returncode == 0, built.stderr
    carried = medium / "strata" / "artifacts" / "flatcar" / "4081.2.0"
    (carried / "flatcar_production_pxe.vmlinuz").write_bytes(b"k" * 100)
    done = start(medium, "--dry-run")
    assert done.returncode == 2
    assert (
        "artifacts are not as built (1)" in done.stderr and "has 100 bytes, not 8192" in done.stderr
    )
