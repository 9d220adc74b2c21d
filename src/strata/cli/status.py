"""`strata status` and `strata events NODE`: reading the store."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from strata.cli.common import FILE_OPTION, STATE, TOPOLOGY_PATH, default_state
from strata.cli.progress import STATE_STYLE, state_counts_table
from strata.cli.render import make_console
from strata.cli.status_clusters import (
    Clusters,
    cluster_rows,
    clusters_json,
    clusters_view,
    read_clusters,
)
from strata.cli.status_kube import StatusStore, kube_source
from strata.controller import State
from strata.store import LogEntry, NodeSummary, SQLiteStore

__all__ = ["events", "in_cluster", "name_in", "open_store", "status"]


NO_LAYERS = Clusters()  # no topology read: an empty clusters table


def open_store(file: Path, state: Path | None, read_only: bool = True) -> SQLiteStore:
    path = state or default_state(file)
    if not path.exists() and not path.is_symlink():  # a dangling link is a broken state
        click.echo(
            f"no state at {path}: nothing has been applied yet (run `strata apply -f {file}`)",
            err=True,
        )
        sys.exit(1)
    return SQLiteStore(path, read_only=read_only)


def in_cluster(command: Any) -> Any:
    """--kubeconfig/--namespace/--topology: read a topology ``strata controller`` drives."""
    for option in reversed(
        (
            click.option(
                "--kubeconfig",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Read the topology a `strata controller` drives in this cluster "
                "(its Topology object and Servers), not a state file.",
            ),
            click.option("--namespace", "-n", help="The Topology's namespace [the context's]."),
            click.option(
                "--topology", "-t", help="The Topology object's name [FILE's metadata.name]."
            ),
        )
    ):
        command = option(command)
    return command


def _opened(
    file: Path, state: Path | None, kubeconfig: Path | None, namespace: str | None, name: str | None
) -> tuple[StatusStore, Clusters, str | None]:
    """(store, layers, who drives it: None to ask the store's writer lease, "" nobody)."""
    if kubeconfig is None:
        return open_store(file, state), read_clusters(file), None
    source = kube_source(kubeconfig, namespace, name or name_in(file))
    return source.store, source.clusters, ", ".join(source.drivers)


def name_in(file: Path) -> str:
    from strata.topology import check_file

    checked = check_file(file)
    if checked.topology is None:
        click.echo(f"error: give --topology NAME ({file} names none it can be read from)", err=True)
        sys.exit(1)
    return checked.topology.name


@click.command()
@TOPOLOGY_PATH  # the state file beside it; the clusters table reads its layers if it can
@STATE
@in_cluster
@click.option("--watch", "-w", is_flag=True, help="Refresh every two seconds until interrupted.")
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def status(
    file: Path,
    state: Path | None,
    kubeconfig: Path | None,
    namespace: str | None,
    topology: str | None,
    watch: bool,
    output: str,
) -> None:
    """Nodes by state per layer, region and rack; failed nodes and why; recent events.
    And each layer's cluster: distribution and version, endpoint, API reachable,
    control-plane nodes and workers joined.

    Read-only: status contacts no machine and no cluster. "API reachable" is what the
    last run to joined saw of the layer's API (its watch of Nodes), not a live probe;
    "not watched" when no run has watched it. The layers come from FILE (read once);
    without a valid FILE the rest still shows. With --kubeconfig: the topology a
    `strata controller` drives in that cluster, its layers from the Topology object."""
    store, clusters, driver = _opened(file, state, kubeconfig, namespace, topology)
    if output == "json":
        click.echo(json.dumps(status_json(store, clusters, driver), indent=2))
        return
    console = make_console()
    if not watch:
        console.print(status_view(store, clusters, driver))
        return
    with Live(status_view(store, clusters, driver), console=console, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(2)
                live.update(status_view(store, clusters, driver), refresh=True)
        except KeyboardInterrupt:
            pass


def _controller(store: StatusStore, driver: str | None) -> str | None:
    """Who drives the datacenter: ``driver`` when given (in a cluster: the replicas
    holding its shards), else the holder of the store's writer lease; None: nobody."""
    if driver is not None:
        return driver or None
    writer = store.writer()
    return writer[0] if writer else None


def status_json(
    store: StatusStore, clusters: Clusters = NO_LAYERS, driver: str | None = None
) -> dict[str, Any]:
    nodes = store.summaries()
    return {
        "controller": _controller(store, driver),
        "counts": {k: dict(v) for k, v in _counts(nodes).items()},
        **clusters_json(clusters, cluster_rows(clusters.plans, store, nodes)),
        "nodes": {
            n.name: {"state": n.state, "step": n.step, "reason": n.reason, "updated": n.updated}
            for n in nodes
        },
        "recent_events": [_entry_json(e) for e in store.recent_events(20)],
    }


def status_view(
    store: StatusStore, clusters: Clusters = NO_LAYERS, driver: str | None = None
) -> RenderableType:
    nodes = store.summaries()
    counts = _counts(nodes)
    parts: list[RenderableType] = [
        Text(f"{len(nodes)} nodes; " + _driven(_controller(store, driver))),
        state_counts_table("by layer", _parse(counts["layer"])),
        state_counts_table("by region", _parse(counts["region"])),
        state_counts_table("by rack", _parse(counts["rack"])),
        clusters_view(clusters, cluster_rows(clusters.plans, store, nodes)),
    ]
    parts += _problem_table(nodes, State.FAILED, "failed", "bold red")
    parts += _problem_table(
        nodes, State.FOUND_RUNNING, "found running: `strata adopt NODE…` or reinstall", "yellow"
    )
    parts += _problem_table(
        nodes, State.MAINTENANCE, "in maintenance: `strata maintenance off NODE…`", "dim"
    )
    held = [n for n in nodes if n.reason]  # a declared node with a reason: the seed's own
    parts += _problem_table(held, State.DECLARED, "held: waiting for the pivot", "cyan")
    parts.append(events_table("recent events", store.recent_events(10), with_node=True))
    return Group(*parts)


def _driven(controller: str | None) -> str:
    return f"driven by {controller}" if controller else "no controller running"


def _problem_table(
    nodes: Iterable[NodeSummary], state: State, title: str, style: str
) -> list[Table]:
    """The nodes in ``state`` with where and why they stopped; none when there are none."""
    chosen = sorted((n for n in nodes if n.state == state), key=lambda n: n.name)
    if not chosen:
        return []
    table = Table(title=title, title_justify="left", header_style=style)
    for column in ("node", "step", "reason"):
        table.add_column(column, overflow="fold")
    for n in chosen:
        table.add_row(Text(n.name), Text(n.step or ""), Text(n.reason or ""))  # not markup
    return [table]


def _counts(nodes: Iterable[NodeSummary]) -> dict[str, dict[str, Counter[str]]]:
    out: dict[str, dict[str, Counter[str]]] = {
        g: defaultdict(Counter) for g in ("layer", "region", "rack")
    }
    for n in nodes:
        out["layer"][n.layer][n.state] += 1
        out["region"][n.region][n.state] += 1
        out["rack"][f"{n.region}/{n.zone}/{n.rack}"][n.state] += 1
    return out


def _parse(groups: dict[str, Counter[str]]) -> dict[str, Counter[State]]:
    return {g: Counter({State(s): n for s, n in c.items()}) for g, c in groups.items()}


def events_table(title: str, entries: list[LogEntry], with_node: bool = False) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("time", no_wrap=True)
    if with_node:
        table.add_column("node", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for e in entries:
        detail = dict(e.detail)
        kind: str | Text = e.kind
        if e.kind == "state":
            to = State(detail.pop("to"))
            kind = Text(f"{detail.pop('from')} → {to}", style=STATE_STYLE[to])
        cells = [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))]
        cells += [e.node] if with_node else []
        shown = " ".join(f"{k}={v}" for k, v in sorted(detail.items()) if v is not None)
        table.add_row(*cells, kind, Text(shown))  # BMC faults, a person's note: not markup
    return table


def _entry_json(e: LogEntry) -> dict[str, Any]:
    return {"id": e.id, "node": e.node, "at": e.at, "kind": e.kind, "detail": dict(e.detail)}


@click.command()
@click.argument("node")
@FILE_OPTION
@STATE
@in_cluster
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def events(
    node: str,
    file: Path,
    state: Path | None,
    kubeconfig: Path | None,
    namespace: str | None,
    topology: str | None,
    output: str,
) -> None:
    """NODE's event log: its state changes, and what its machine and the boot service did."""
    if kubeconfig is None:
        store: StatusStore = open_store(file, state)
        where = str(state or default_state(file))
    else:
        source = kube_source(kubeconfig, namespace, topology or name_in(file))
        store, where = source.store, f"Topology {source.where}"
    entries = store.events(node)
    if not entries and node not in store.records():
        click.echo(f"no node {node} in {where}", err=True)
        sys.exit(1)
    if output == "json":
        click.echo(json.dumps([_entry_json(e) for e in entries], indent=2))
    else:
        make_console().print(events_table(f"events of {node}", entries))
