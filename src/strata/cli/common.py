"""What the commands share: loading a topology, or saying why not."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from strata.cli.render import diagnostics_text
from strata.topology import Topology, check_file

__all__ = ["topology_or_exit"]


def topology_or_exit(file: Path) -> Topology:
    checked = check_file(file)
    if checked.topology is None:
        diagnostics_text(Console(stderr=True, highlight=False), checked.errors)
        click.echo(f"{file}: invalid (run `strata validate {file}`)", err=True)
        sys.exit(1)
    return checked.topology
