"""What the commands share: the topology argument and the state and artifact options, the
files they default to, and checking and loading a topology (or saying why not)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from strata.cli.render import diagnostics_text, make_console
from strata.topology import Checked, Topology, check_file

__all__ = [
    "ARTIFACTS",
    "FILE_OPTION",
    "STATE",
    "TOPOLOGY",
    "TOPOLOGY_PATH",
    "check_topology",
    "default_artifacts",
    "default_state",
    "topology_or_exit",
]

_PATH = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
FILE_OPTION = click.option(  # the topology file, as kubectl and clusterctl spell it
    "--file",
    "-f",
    "file",
    type=_PATH,
    default="topology.yaml",
    show_default=True,
    help="The topology file.",
)


def _topology(must_exist: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-f/--file FILE`` (default ./topology.yaml). A FILE given as the first argument, as
    Strata took it before, still works, with a note on stderr."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def merged(*args: Any, file: Path, legacy_file: Path | None, **kwargs: Any) -> Any:
            if legacy_file is not None:
                name = click.get_current_context().command_path
                click.echo(f"note: `{name} FILE` is deprecated: say `{name} -f FILE`", err=True)
                file = legacy_file
            if must_exist:  # as click.Path(exists=True) says it; what it is, validate says
                ctx = click.get_current_context()
                file = _EXISTING.convert(file, _file_param(ctx), ctx)
            return command(*args, file=file, **kwargs)

        merged = click.argument("legacy_file", required=False, type=_PATH, metavar="[FILE]")(merged)
        return FILE_OPTION(merged)

    return decorate


def _file_param(ctx: click.Context) -> click.Parameter | None:
    return next((p for p in ctx.command.params if p.name == "file"), None)


TOPOLOGY = _topology(must_exist=True)  # commands that read the topology
TOPOLOGY_PATH = _topology(must_exist=False)  # commands that only find its state beside it

STATE = click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite state file [FILE's dir/.strata/strata.db].",
)
ARTIFACTS = click.option(
    "--artifacts",
    "artifact_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Artifact mirror [FILE's dir/artifacts].",
)


def default_state(file: Path) -> Path:
    return file.parent / ".strata" / "strata.db"


def default_artifacts(file: Path) -> Path:
    return file.parent / "artifacts"


def check_topology(file: Path) -> Checked:
    """Every finding about FILE and the files it names, its Ignition fragments checked as
    Ignition for the OS of each node that gets them."""
    from strata.ignition import fragment_problems  # at use: commands start without it

    return check_file(file, fragment_check=fragment_problems)


def topology_or_exit(file: Path) -> Topology:
    checked = check_topology(file)
    if checked.topology is None:
        diagnostics_text(make_console(stderr=True), checked.errors, checked.omitted)
        click.echo(f"{file}: invalid (run `strata validate -f {file}`)", err=True)
        sys.exit(1)
    return checked.topology
