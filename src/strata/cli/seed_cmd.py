"""`strata seed`: build a bootable seed image, say what one holds, and start one (the live
system runs `strata seed start` at boot). docs/seed.md."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from strata.seed.payload import Manifest
    from strata.seed.start import RunDirectory

__all__ = ["seed"]

_FILE = click.Path(dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)


@click.group()
def seed() -> None:
    """The seed: a bootable image (ISO / USB) that starts Strata on the first machine of an
    empty datacenter: build, inspect, start."""


@seed.command()
@click.option(
    "--medium",
    type=_DIR,
    default="/run/live/medium",
    show_default=True,
    help="Where the seed's medium is mounted (its strata/ directory is read).",
)
@click.option(
    "--passphrase-file",
    type=_FILE,
    help="The secrets' passphrase, on the file's first line (else strata.seed.passphrase= "
    "on the kernel command line, else asked at the console).",
)
@click.option("--cmdline", type=_FILE, default="/proc/cmdline", hidden=True)
@click.option(
    "--run-dir",
    type=_DIR,
    default="/run/strata-seed",
    show_default=True,
    help="The private directory (0700) the secrets, the topology and the state go to.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Open the secrets, lay out the run directory and check its topology; then say "
    "the network setup and the apply command, and run neither.",
)
def start(
    medium: Path, passphrase_file: Path | None, cmdline: Path, run_dir: Path, dry_run: bool
) -> None:
    """Start the seed from its medium: open its secrets with the passphrase, lay out a
    private run directory, set up its NICs, then run `strata apply` (the boot service,
    DHCP on the provisioning NIC, and the pivot when the topology asks for it)."""
    click.echo("strata seed: starting")  # the first line: the boot tests wait for it
    sys.stdout.flush()
    from strata.seed.payload import read_contents, read_directory
    from strata.seed.start import START_LINE, open_secrets, prepare

    assert START_LINE == "strata seed: starting"
    contents = read_contents(read_directory(medium / "strata"))
    manifest = contents.manifest
    click.echo(
        f"seed of topology {manifest.topology} (sha256 {manifest.topology_sha256[:16]}…), "
        f"built by Strata {manifest.strata}"
    )
    ask = _console_prompt if sys.stdin.isatty() else None
    secrets, how = open_secrets(contents, passphrase_file, cmdline, ask)
    click.echo(f"secrets: {len(secrets)} ({how})")
    run = prepare(contents, secrets, run_dir)
    click.echo(f"run directory: {run.root} (topology, {len(run.secrets)} secret files, state)")
    dhcp = _network(manifest, dry_run)
    command = _apply(manifest, run, medium, dhcp)
    if dry_run:
        _check(run.topology)
        click.echo(f"dry run: would run {shlex.join(command)}")
        return
    click.echo(f"running: {shlex.join(command[2:])}")
    sys.stdout.flush()
    sys.exit(subprocess.run(command, check=False).returncode)


def _console_prompt() -> str:
    return str(click.prompt("seed passphrase", hide_input=True, err=True))


def _network(manifest: Manifest, dry_run: bool) -> str | None:
    """Each network's setup said (and done, unless ``dry_run``); the provisioning NIC's
    name on this machine, when found."""
    from strata.seed.start import local_links, network_step

    links = local_links()
    dhcp = None
    for side in manifest.network:
        step = network_step(side, links)
        click.echo(f"network: {step.line}")
        for command in step.commands:
            if dry_run:
                click.echo(f"  dry run: would run {shlex.join(command)}")
                continue
            done = subprocess.run(command, check=False, capture_output=True, text=True)
            if done.returncode != 0:
                click.echo(f"  {shlex.join(command)}: {done.stderr.strip()}", err=True)
        if side.purpose == "provisioning":
            dhcp = step.interface
    return dhcp


def _apply(manifest: Manifest, run: RunDirectory, medium: Path, dhcp: str | None) -> list[str]:
    from strata.seed.start import apply_command

    if manifest.node is not None:
        click.echo(
            f"node {manifest.node} is this machine: found running, apply leaves it alone "
            "(provisioning it after the pivot is not done yet)"
        )
    if dhcp is None:
        click.echo("DHCP: no provisioning NIC found on this machine: the boot service only")
    return apply_command(manifest, run, medium / "strata" / "artifacts", dhcp)


def _check(topology: Path) -> None:
    """`strata validate` of the run's topology, as a process: exit 2 when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "strata.cli.app", "validate", "-f", str(topology)],
        check=False,
        capture_output=True,
        text=True,
    )
    click.echo(f"dry run: strata validate: {(done.stdout or done.stderr).strip()}")
    if done.returncode != 0:
        sys.exit(2)
