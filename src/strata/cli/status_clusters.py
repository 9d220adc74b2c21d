"""`strata status`'s clusters table: one row per layer of the topology file.

Each row: the layer, its distribution and version, its endpoint, whether its API
answered, and how many of its control-plane nodes and workers are ``joined``.

"API reachable" is what the last run to ``joined`` saw, not a live probe: status is
read-only and never contacts a cluster. It is the newest ``api-answered`` /
``api-unreachable`` entry that the layer's watch of Nodes (``strata.kube.watch``) wrote
on the layer's init node; a layer no run has watched says ``not watched``.

The layers come from the topology file (``-f``), built into a plan as apply builds it;
where the file cannot be read or is not valid, the rest of status still shows and the
clusters table says why it is missing.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.table import Table
from rich.text import Text

from strata.controller import State
from strata.plan import build_plan
from strata.plan.model import ClusterPlan
from strata.provisioning import LogKind
from strata.store import LogEntry, NodeSummary
from strata.topology import check_file

__all__ = [
    "API_KINDS",
    "ClusterRow",
    "Clusters",
    "cluster_rows",
    "clusters_json",
    "clusters_view",
    "read_clusters",
]

API_KINDS = (LogKind.API_ANSWERED, LogKind.API_UNREACHABLE)


class _Latest(Protocol):
    def latest(self, kinds: Collection[str], node: str) -> LogEntry | None: ...


@dataclass(frozen=True, slots=True)
class Clusters:
    """The layers of the topology file, or why there are none to show."""

    plans: tuple[ClusterPlan, ...] = ()
    unavailable: str | None = None


def read_clusters(file: Path) -> Clusters:
    """The file's layers as ClusterPlans (its Ignition fragments are not checked: status
    needs none of them)."""
    checked = check_file(file)
    if checked.topology is None:
        first = checked.errors[0].message if checked.errors else "not a valid topology"
        return Clusters(
            unavailable=f"{file}: {first} (run `strata validate -f {file}`); no clusters to show"
        )
    return Clusters(build_plan(checked.topology).clusters)


@dataclass(frozen=True, slots=True)
class ClusterRow:
    layer: str
    distribution: str
    version: str
    endpoint: str
    api: LogEntry | None  # the newest api-answered / api-unreachable entry; None: not watched
    control_plane: tuple[int, int]  # (joined, total)
    workers: tuple[int, int]

    @property
    def reachable(self) -> bool | None:
        return None if self.api is None else self.api.kind == LogKind.API_ANSWERED


def cluster_rows(
    plans: Sequence[ClusterPlan], store: _Latest, nodes: Sequence[NodeSummary]
) -> list[ClusterRow]:
    states = {n.name: n.state for n in nodes}
    return [_row(c, store, states) for c in plans]


def _row(cluster: ClusterPlan, store: _Latest, states: Mapping[str, str]) -> ClusterRow:
    api = None
    if cluster.control_plane:  # the watch writes on the layer's init node
        api = store.latest(API_KINDS, cluster.control_plane[0])
        if api is not None and api.detail.get("layer") != cluster.name:
            api = None  # written while that node served another layer

    def joined(names: Sequence[str]) -> tuple[int, int]:
        return sum(states.get(n) == State.JOINED for n in names), len(names)

    return ClusterRow(
        cluster.name,
        cluster.distribution,
        cluster.version,
        cluster.endpoint,
        api,
        joined(cluster.control_plane),
        joined(cluster.workers),
    )


def api_text(row: ClusterRow, now: float | None = None) -> str:
    """``yes (at 12:03:04)``, ``no: REASON (at …)``, or ``not watched``."""
    if row.api is None:
        return "not watched"
    at = f"(at {_when(row.api.at, now)})"
    if row.reachable:
        return f"yes {at}"
    return f"no: {row.api.detail.get('reason') or 'no reason given'} {at}"


def _when(at: float, now: float | None) -> str:
    """The time of day; with the date when it was not today."""
    seen, today = time.localtime(at), time.localtime(time.time() if now is None else now)
    same_day = (seen.tm_year, seen.tm_yday) == (today.tm_year, today.tm_yday)
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", seen)


def clusters_view(clusters: Clusters, rows: Sequence[ClusterRow]) -> Table | Text:
    if clusters.unavailable is not None:
        return Text(f"clusters: {clusters.unavailable}", style="yellow")
    table = Table(
        title="clusters (API reachable: as the last run to joined saw it)",
        title_justify="left",
        header_style="bold",
    )
    for column in ("layer", "distribution", "endpoint"):
        table.add_column(column, no_wrap=True)
    table.add_column("API reachable", overflow="fold")
    table.add_column("control plane", justify="right", no_wrap=True)
    table.add_column("workers", justify="right", no_wrap=True)
    for r in rows:
        api = Text(api_text(r), style={True: "green", False: "red", None: "dim"}[r.reachable])
        table.add_row(
            r.layer,
            f"{r.distribution} {r.version}",
            r.endpoint,
            api,
            _fraction(r.control_plane),
            _fraction(r.workers),
        )
    return table


def _fraction(counts: tuple[int, int]) -> Text:
    joined, total = counts
    style = "green" if total and joined == total else ""
    return Text(f"{joined}/{total}", style=style)


def clusters_json(clusters: Clusters, rows: Sequence[ClusterRow]) -> dict[str, Any]:
    """``clusters``: a list of rows (None when the topology could not be read), and
    ``clusters_unavailable``: why not (None when it could)."""
    if clusters.unavailable is not None:
        return {"clusters": None, "clusters_unavailable": clusters.unavailable}
    return {
        "clusters": [
            {
                "layer": r.layer,
                "distribution": r.distribution,
                "version": r.version,
                "endpoint": r.endpoint,
                "api": {
                    "reachable": r.reachable,
                    "reason": r.api.detail.get("reason") if r.api else None,
                    "at": r.api.at if r.api else None,
                },
                "control_plane": {"joined": r.control_plane[0], "total": r.control_plane[1]},
                "workers": {"joined": r.workers[0], "total": r.workers[1]},
            }
            for r in rows
        ],
        "clusters_unavailable": None,
    }
