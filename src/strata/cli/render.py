"""How findings and plans look in a terminal (rich) and to machines (JSON, YAML)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML

from strata.plan import ActionKind, Plan
from strata.topology import Diagnostic, Severity, Topology

__all__ = ["diagnostics_text", "dump", "plan_tables", "summary_line"]

_ACTION_STYLE = {
    ActionKind.CREATE: "green",
    ActionKind.UPDATE: "yellow",
    ActionKind.REPROVISION: "bold red",
    ActionKind.DELETE: "bold red",
    ActionKind.UNCHANGED: "dim",
}


def diagnostics_text(console: Console, diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        style = "red" if d.severity is Severity.ERROR else "yellow"
        line = Text()
        line.append(d.where, style="bold")
        line.append(": ")
        line.append(str(d.severity), style=style)
        line.append(f": {d.render().split(': ', 2)[2]}")
        console.print(line, soft_wrap=True, highlight=False)


def summary_line(topology: Topology) -> str:
    s = topology.summary()
    counts = ", ".join(_count(s[k], k[:-1]) for k in ("regions", "zones", "racks", "nodes"))
    return f"{counts}; layers: {', '.join(s['layers'])}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def plan_tables(console: Console, plan: Plan) -> None:
    by_name = {a.node: a for a in plan.actions}
    nodes = Table(title=f"Plan for {plan.topology}", title_justify="left", header_style="bold")
    for column in (
        "action",
        "node",
        "region/zone/rack",
        "layer",
        "role",
        "os",
        "boot",
        "bmc",
        "boot mac",
        "addresses",
    ):
        nodes.add_column(column, no_wrap=column in ("node", "os", "bmc", "boot mac"))
    for n in plan.nodes:
        action = by_name[n.name]
        addresses = ", ".join(i.address for i in n.interfaces if i.address) or "dhcp"
        nodes.add_row(
            Text(action.kind.value, style=_ACTION_STYLE[action.kind]),
            n.name,
            f"{n.region}/{n.zone}/{n.rack}",
            n.layer,
            n.role,
            f"{n.os_name} {n.os_channel or ''} {n.os_version}".replace("  ", " "),
            f"{n.boot_method}/{n.firmware}",
            n.bmc_address,
            n.boot_mac,
            addresses,
        )
    for action in plan.actions:
        if action.kind is ActionKind.DELETE:
            nodes.add_row(Text("delete", style=_ACTION_STYLE[action.kind]), action.node, *[""] * 8)
    console.print(nodes)
    clusters = Table(title="Layers", title_justify="left", header_style="bold")
    for column in (
        "#",
        "layer",
        "distribution",
        "endpoint",
        "provisioned by",
        "pivot",
        "control plane",
        "workers",
    ):
        clusters.add_column(column)
    for c in plan.clusters:
        clusters.add_row(
            str(c.index),
            c.name,
            f"{c.distribution} {c.version}",
            c.endpoint,
            c.provisioned_by,
            "yes" if c.pivot else "",
            str(len(c.control_plane)),
            str(len(c.workers)),
        )
    console.print(clusters)
    counts = ", ".join(f"{v} to {k}" for k, v in plan.counts().items() if v)
    console.print(f"Plan: {counts or 'nothing to do'}.")
    destructive = [a for a in plan.actions if a.destructive]
    if destructive:
        console.print(
            f"[bold red]{len(destructive)} destructive action(s)[/]: "
            + ", ".join(f"{a.kind.value} {a.node}" for a in destructive)
        )


def dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()
