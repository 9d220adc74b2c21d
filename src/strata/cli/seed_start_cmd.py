"""`strata seed start`: what the seed's live system runs at boot (deploy/seed/
strata-seed.service) — open the secrets, set up the seed's networks, serve its status and
run `strata apply` with the boot service and DHCP. docs/seed.md."""

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

__all__ = ["start"]

_FILE = click.Path(dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)


def say(line: str) -> None:
    click.echo(line, err=True)


def _status_listen(value: str) -> str:
    """--status-listen checked as it is parsed, before anything is done (``--dry-run``
    too): ``auto``, ``none`` or a HOST:PORT ``listen_address`` takes; else BadParameter."""
    if value not in ("auto", "none"):
        from strata.cli.serve import listen_address

        listen_address(value, "--status-listen")
    return value


@click.command()
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
@click.option(
    "--status-listen",
    default="auto",
    show_default=True,
    metavar="auto|none|HOST:PORT",
    callback=lambda _ctx, _param, value: _status_listen(value),
    help="Where the run's status is served over HTTP (/status, /status.json); auto: "
    "this machine's provisioning address, port 8090; an IPv6 HOST in brackets.",
)
@click.option(
    "--hold",
    is_flag=True,
    help="Once `strata apply` ends, keep serving its status until stopped (the live "
    "system's unit: the outcome stays readable); exit with apply's code then.",
)
@click.option(
    "--mirror",
    multiple=True,
    default=["none"],
    show_default=True,
    metavar="auto|none|PATH",
    help="Also write everything shown to: auto, every other console of the kernel line "
    "(the screen, when /dev/console is the serial port); or a terminal or file.",
)
@click.argument("apply_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- APPLY_OPTION...]")
def start(
    medium: Path,
    passphrase_file: Path | None,
    cmdline: Path,
    run_dir: Path,
    dry_run: bool,
    status_listen: str,
    hold: bool,
    mirror: tuple[str, ...],
    apply_args: tuple[str, ...],
) -> None:
    """Start the seed from its medium: open its secrets with the passphrase, lay out a
    private run directory, set up its NICs, then run `strata apply` (the boot service,
    DHCP on the provisioning NIC, and the pivot when the topology asks for it), serving
    its status over HTTP meanwhile. Options after `--` are added to `strata apply`'s."""
    from strata.seed.consoles import Tee, open_mirrors

    mirrors = open_mirrors(mirror, sys.stderr)
    if mirrors:  # what the seed says, on the other consoles too
        sys.stdout, sys.stderr = Tee(sys.stdout, mirrors), Tee(sys.stderr, mirrors)
    click.echo("strata seed: starting")  # the first line: the boot tests wait for it
    sys.stdout.flush()
    from strata.seed.payload import PayloadError, read_contents, read_directory
    from strata.seed.start import START_LINE, artifact_problems, open_secrets, prepare

    assert START_LINE == "strata seed: starting"
    contents = read_contents(read_directory(medium / "strata"))
    manifest = contents.manifest
    click.echo(
        f"seed of topology {manifest.topology} (sha256 {manifest.topology_sha256[:16]}…), "
        f"built by Strata {manifest.strata}"
    )
    problems = artifact_problems(manifest, medium / "strata")
    if problems:
        raise PayloadError(
            f"the medium's artifacts are not as built ({len(problems)}): {'; '.join(problems[:3])}"
        )
    total = sum(a.size for a in manifest.artifacts) / 2**20
    click.echo(f"artifacts: {len(manifest.artifacts)} files, {total:.1f} MiB, sizes as built")
    ask = _console_prompt if sys.stdin.isatty() else None
    secrets, how = open_secrets(contents, passphrase_file, cmdline, ask)
    click.echo(f"secrets: {len(secrets)} ({how})")
    run = prepare(contents, secrets, run_dir)
    click.echo(f"run directory: {run.root} (topology, {len(run.secrets)} secret files, state)")
    dhcp = _network(manifest, dry_run)
    command = _apply(manifest, run, medium, dhcp) + list(apply_args)
    shown = "strata " + shlex.join(command[3:])  # [python, -m, strata.cli.app, apply, ...]
    if dry_run:
        _check(run.topology)
        click.echo(f"dry run: would run {shown}")
        return
    from strata.cli.seed_status import serve_status

    phase, server = serve_status(status_listen, manifest, run, click.echo)
    click.echo(f"running: {shown}")
    sys.stdout.flush()
    phase.running()
    if mirrors:  # on a pseudo-terminal, copied to each console: its live view on all
        from strata.seed.consoles import run_mirrored

        code = run_mirrored(command, mirrors)
    else:
        code = subprocess.run(command, check=False).returncode
    phase.ended(code)
    if hold and server is not None:
        from strata.cli.seed_status import hold_until_stopped

        click.echo(f"strata seed: apply exited {code}; its status stays at {server.url}")
        sys.stdout.flush()
        hold_until_stopped()
    sys.exit(code)


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
    from strata.seed.handover import held_line
    from strata.seed.start import apply_command

    extra: tuple[str, ...] = ()
    if manifest.node is not None:
        click.echo(f"node {held_line(manifest.node, manifest.pivot)}")
        extra = ("--seed-node", manifest.node)
    if dhcp is None:
        click.echo("DHCP: no provisioning NIC found on this machine: the boot service only")
    return apply_command(manifest, run, medium / "strata" / "artifacts", dhcp, extra=extra)


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
