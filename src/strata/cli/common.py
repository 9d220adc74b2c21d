"""What the commands share: the topology argument and the state and artifact options, the
files they default to, and checking and loading a topology (or saying why not)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from strata.cli.render import diagnostics_text
from strata.topology import Checked, Topology, check_file

__all__ = [
    "ARTIFACTS",
    "FILE_OPTION",
    "STATE",
    "TOPOLOGY",
    "check_topology",
    "default_artifacts",
    "default_state",
    "topology_or_exit",
]

TOPOLOGY = click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default="topology.yaml"
)
FILE_OPTION = click.option(  # for commands whose argument is a node
    "--file",
    "-f",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default="topology.yaml",
    show_default=True,
)
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
        diagnostics_text(Console(stderr=True, highlight=False), checked.errors, checked.omitted)
        click.echo(f"{file}: invalid (run `strata validate {file}`)", err=True)
        sys.exit(1)
    return checked.topology
