"""`strata retry NODE…` and `strata adopt NODE…`: a person's requests, made through the
controller (``strata.controller.requests``) and its lifecycle table."""

from __future__ import annotations

from pathlib import Path

import click

from strata.cli.common import FILE_OPTION, STATE
from strata.cli.status import open_store
from strata.controller import Event
from strata.controller.recorded import found_running
from strata.controller.requests import request
from strata.store import SQLiteStore

__all__ = ["adopt", "retry"]


@click.command()
@click.argument("nodes", nargs=-1, required=True)
@FILE_OPTION
@STATE
def retry(nodes: tuple[str, ...], file: Path, state: Path | None) -> None:
    """Send failed NODEs back into the lifecycle (from registering: BMC, inspection, install)."""
    store = open_store(file, state, read_only=False)
    _request(store, nodes, Event.RETRY, "retrying", "`strata apply` resumes them")


@click.command()
@click.argument("nodes", nargs=-1)
@click.option("--all-found", is_flag=True, help="Adopt every node that is found-running.")
@FILE_OPTION
@STATE
def adopt(nodes: tuple[str, ...], all_found: bool, file: Path, state: Path | None) -> None:
    """Take found-running NODEs as provisioned without touching them.

    A node is found-running when, at first contact, its BMC said it was on and the
    state had no record of Strata installing it (a lost state file, or servers installed
    by someone else). Adopting powers nothing and writes nothing to its disks; to
    reinstall it instead, run `strata apply --allow-reprovision NODE`."""
    store = open_store(file, state, read_only=False)
    if all_found:
        nodes += tuple(sorted(found_running(store)))
    if not nodes:
        raise click.UsageError("name the nodes to adopt, or give --all-found")
    _request(store, tuple(dict.fromkeys(nodes)), Event.ADOPT, "adopted", "now provisioned")


def _request(
    store: SQLiteStore, nodes: tuple[str, ...], event: Event, done: str, then: str
) -> None:
    requested = request(store, nodes, event)  # RequestRefused, Conflict: nothing done, exit 1
    names = ", ".join(requested.nodes)
    if requested.controller is not None:
        click.echo(f"asked {requested.controller} to {event} {names}")
    else:
        click.echo(f"{done} {names}: {then}")
