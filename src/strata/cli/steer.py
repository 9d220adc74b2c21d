"""`strata retry NODE…`, `strata adopt NODE…` and `strata maintenance on|off NODE…`: a
person's requests, made through the controller (``strata.controller.requests``) and its
lifecycle table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from strata.cli.common import FILE_OPTION, STATE
from strata.cli.status import in_cluster, name_in, open_store
from strata.cli.status_kube import kube_source
from strata.controller import Event
from strata.controller.recorded import found_running
from strata.controller.requests import request
from strata.store import Store

__all__ = ["adopt", "maintenance", "retry"]


@click.command()
@click.argument("nodes", nargs=-1, required=True)
@FILE_OPTION
@STATE
@in_cluster
def retry(nodes: tuple[str, ...], file: Path, state: Path | None, **cluster: Any) -> None:
    """Send failed NODEs back into the lifecycle (from registering: BMC, inspection, install)."""
    store, running = _opened(file, state, **cluster)
    _request(store, running, nodes, Event.RETRY, "retrying", "`strata apply` resumes them")


@click.command()
@click.argument("nodes", nargs=-1)
@click.option("--all-found", is_flag=True, help="Adopt every node that is found-running.")
@FILE_OPTION
@STATE
@in_cluster
def adopt(
    nodes: tuple[str, ...], all_found: bool, file: Path, state: Path | None, **cluster: Any
) -> None:
    """Take found-running NODEs as provisioned without touching them.

    A node is found-running when, at first contact, its BMC said it was on and the
    state had no record of Strata installing it (a lost state file, or servers installed
    by someone else). Adopting powers nothing and writes nothing to its disks; to
    reinstall it instead, run `strata apply --allow-reprovision NODE`."""
    store, running = _opened(file, state, **cluster)
    if all_found:
        nodes += tuple(sorted(found_running(store)))
    if not nodes:
        raise click.UsageError("name the nodes to adopt, or give --all-found")
    chosen = tuple(dict.fromkeys(nodes))
    _request(store, running, chosen, Event.ADOPT, "adopted", "now provisioned")


@click.group()
def maintenance() -> None:
    """Put NODEs in maintenance (hands off) or take them out: on NODE… | off NODE….

    In maintenance, Strata makes no BMC call to a node and serves its machine no config
    (an install in progress stops being followed: its attempt ends); no timeout runs.
    Taken out, a node that was at rest returns to where it was (declared, ready,
    provisioned, joined; one waiting for its join to provisioned); one taken mid-phase
    starts again from registration, and if its machine is found on there it waits for
    `strata adopt` or `strata apply --allow-reprovision` (Ironic's maintenance mode)."""


@maintenance.command("on")
@click.argument("nodes", nargs=-1, required=True)
@click.option("--reason", help="A note for the others: shown as the node's reason.")
@FILE_OPTION
@STATE
@in_cluster
def maintenance_on(
    nodes: tuple[str, ...], reason: str | None, file: Path, state: Path | None, **cluster: Any
) -> None:
    """Put NODEs in maintenance: no BMC call, no config served, until `maintenance off`."""
    store, running = _opened(file, state, **cluster)
    chosen = tuple(dict.fromkeys(nodes))
    _request(store, running, chosen, Event.MAINTENANCE_ON, "in maintenance", "hands off", reason)


@maintenance.command("off")
@click.argument("nodes", nargs=-1, required=True)
@FILE_OPTION
@STATE
@in_cluster
def maintenance_off(nodes: tuple[str, ...], file: Path, state: Path | None, **cluster: Any) -> None:
    """Take NODEs out of maintenance: back where they rested, else from registration."""
    store, running = _opened(file, state, **cluster)
    chosen = tuple(dict.fromkeys(nodes))
    then = "`strata apply` goes on with them"
    _request(store, running, chosen, Event.MAINTENANCE_OFF, "out of maintenance", then)


def _opened(
    file: Path,
    state: Path | None,
    kubeconfig: Path | None,
    namespace: str | None,
    topology: str | None,
) -> tuple[Store, str | None]:
    """The store to ask through, and the in-cluster controller driving it (None: the
    store's writer lease says)."""
    if kubeconfig is None:
        return open_store(file, state, read_only=False), None
    source = kube_source(kubeconfig, namespace, topology or name_in(file))
    return source.store, ", ".join(source.drivers) or None


def _request(
    store: Store,
    running: str | None,
    nodes: tuple[str, ...],
    event: Event,
    done: str,
    then: str,
    reason: str | None = None,
) -> None:
    # RequestRefused, Conflict: nothing done, exit 1
    requested = request(store, nodes, event, running, reason)
    names = ", ".join(requested.nodes)
    if requested.controller is not None:
        click.echo(f"asked {requested.controller} to {event} {names}")
    else:
        click.echo(f"{done} {names}: {then}")
