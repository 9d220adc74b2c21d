"""How findings and plans look in a terminal (rich) and to machines (JSON, YAML)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from strata.plan import ChangeKind, NodeChange, Plan
from strata.topology import Diagnostic, Severity, Topology
from strata.topology.diagnostics import MAX_FINDINGS

__all__ = [
    "SHOWN_FINDINGS",
    "diagnostics_text",
    "dump",
    "fitted_table",
    "plan_tables",
    "summary_line",
]

_ACTION_STYLE = {
    ChangeKind.CREATE: "green",
    ChangeKind.UPDATE: "yellow",
    ChangeKind.REPROVISION: "bold red",
    ChangeKind.DELETE: "bold red",
    ChangeKind.UNCHANGED: "dim",
    ChangeKind.ADOPT_OR_REINSTALL: "bold yellow",
}


SHOWN_FINDINGS = 100
"""Findings printed in a terminal; the rest are counted in one closing line."""


PIPE_WIDTH = 10_000  # off a terminal: lines as long as they are (URLs, commands, JSON)


def make_console(stderr: bool = False) -> Console:
    """The console a command prints through. In a terminal, rich's own (its width, colour);
    into a pipe or a file, no wrapping at all — a URL or a command split across lines
    cannot be copied or grepped — unless COLUMNS asks for a width."""
    probe = Console(stderr=stderr)
    if probe.is_terminal or "COLUMNS" in os.environ:
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=PIPE_WIDTH)


def diagnostics_text(console: Console, diagnostics: Sequence[Diagnostic], omitted: int = 0) -> None:
    """The first ``SHOWN_FINDINGS`` findings, then "… and N more" for those left out here
    and the ``omitted`` ones the loader counted without keeping."""
    for d in diagnostics[:SHOWN_FINDINGS]:
        style = "red" if d.severity is Severity.ERROR else "yellow"
        line = Text()
        line.append(d.where, style="bold")
        line.append(": ")
        line.append(str(d.severity), style=style)
        line.append(f": {d.render().split(': ', 2)[2]}")
        console.print(line, soft_wrap=True, highlight=False)
    more = max(len(diagnostics) - SHOWN_FINDINGS, 0) + omitted
    if more:
        console.print(
            f"… and {more:,} more (strata validate -o json lists the first {MAX_FINDINGS:,})",
            soft_wrap=True,
            highlight=False,
        )


def summary_line(topology: Topology) -> str:
    s = topology.summary()
    counts = ", ".join(_count(s[k], k[:-1]) for k in ("regions", "zones", "racks", "nodes"))
    return f"{counts}; layers: {', '.join(s['layers'])}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# Columns of the plan, most important first: narrow terminals drop from the end.
_NODE_COLUMNS = (
    "action",
    "node",
    "layer",
    "role",
    "addresses",
    "os",
    "rack",
    "boot",
    "boot mac",
    "bmc",
)


def plan_tables(console: Console, plan: Plan) -> None:
    by_name = {a.node: a for a in plan.actions}
    rows: list[dict[str, str | Text]] = []
    for n in plan.nodes:
        action = by_name[n.name]
        rows.append(
            {
                "action": Text(_action_cell(action), style=_ACTION_STYLE[action.kind]),
                "node": n.name,
                "rack": f"{n.region}/{n.zone}/{n.rack}",
                "layer": n.layer,
                "role": n.role,
                "os": f"{n.os_name} {n.os_version}",
                "boot": f"{'→'.join(n.boot_methods)}/{n.firmware}",
                "bmc": n.bmc_address + (f" → {n.bmc_fallback.address}" if n.bmc_fallback else ""),
                "boot mac": n.boot_mac,
                "addresses": ", ".join(i.address.split("/")[0] for i in n.interfaces if i.address)
                or "dhcp",
            }
        )
    for action in plan.actions:
        if action.kind is ChangeKind.DELETE:
            cell = Text("delete (with --prune)", style=_ACTION_STYLE[action.kind])
            rows.append({"action": cell, "node": action.node})
    console.print(fitted_table(f"Plan for {plan.topology}", _NODE_COLUMNS, rows, console.width))
    layers = [
        {
            "#": str(c.index),
            "layer": c.name,
            "distribution": f"{c.distribution} {c.version}",
            "control plane": str(len(c.control_plane)),
            "workers": str(len(c.workers)),
            "provisioned by": c.provisioned_by,
            "pivot": "yes" if c.pivot else "",
            "endpoint": c.endpoint,
        }
        for c in plan.clusters
    ]
    console.print(fitted_table("Layers", tuple(layers[0]) if layers else (), layers, console.width))
    console.print(f"Plan: {plan_counts(plan)}.")
    pivot = pivot_line(plan)
    if pivot is not None:
        console.print(escape(pivot))
    found = [a.node for a in plan.actions if a.kind is ChangeKind.ADOPT_OR_REINSTALL]
    if found:
        console.print(
            f"[bold yellow]{len(found)} found running — adopt or reinstall?[/] "
            + ", ".join(found)
            + ": `strata adopt NODE…` takes one as provisioned, untouched; "
            "`strata apply --allow-reprovision NODE` reinstalls it",
            soft_wrap=True,
        )
    _consent_lines(console, plan)


PIVOT_NAMESPACE = "strata"  # where apply's automatic pivot puts the management plane


def pivot_line(plan: Plan, joined: bool = True, skipped: bool = False) -> str | None:
    """What the end of ``strata apply`` does with the layer marked ``pivot: true`` (None:
    no layer is): the management plane moves into its cluster once it is joined —
    unless the run stops at provisioned (``joined`` False) or ``--no-pivot`` (``skipped``)."""
    layer = next((c.name for c in plan.clusters if c.pivot), None)
    if layer is None:
        return None
    if skipped:
        return f"pivot: not at the end of this run (--no-pivot); later: strata pivot --to {layer}"
    if not joined:
        return (
            f"pivot: not at the end of this run (--until provisioned: layer {layer} is not joined)"
        )
    return (
        f"pivot: after layer {layer} is joined, the management plane moves into its cluster "
        f"(namespace {PIVOT_NAMESPACE})"
    )


def _action_cell(action: NodeChange) -> str:
    """``update (labels, bmc_address)``: the kind, and the plan fields that changed."""
    return f"{action.kind} ({', '.join(action.changed)})" if action.changed else action.kind.value


_CONSENT = {  # what apply holds until a person says so, and how to say it
    ChangeKind.REPROVISION: (
        "to reinstall",
        "destructive; apply holds each until --allow-reprovision names it",
    ),
    ChangeKind.DELETE: (
        "removed from the file",
        "powered off only by `strata apply --prune`; their records are kept",
    ),
}


def _consent_lines(console: Console, plan: Plan) -> None:
    """What apply will not do without the person's word, and the word to give."""
    for kind, (what, why) in _CONSENT.items():
        nodes = [a.node for a in plan.actions if a.kind is kind]
        if nodes:
            console.print(
                f"[bold red]{len(nodes)} {what}[/] ({escape(why)}): " + escape(", ".join(nodes)),
                soft_wrap=True,
            )


def plan_counts(plan: Plan) -> str:
    """``3 to create, 1 to reprovision, 8 unchanged``."""
    counts = plan.counts()
    parts = [
        f"{n} found running (adopt or reinstall?)"
        if kind == "adopt-or-reinstall"
        else f"{n} to {kind}"
        for kind, n in counts.items()
        if n and kind != "unchanged"
    ]
    if counts.get("unchanged"):
        parts.append(f"{counts['unchanged']} unchanged")
    return ", ".join(parts) or "nothing to do"


def _plain(cell: str | Text) -> Text:
    return Text(cell) if isinstance(cell, str) else cell


def fitted_table(
    title: str, columns: Sequence[str], rows: Sequence[Mapping[str, str | Text]], width: int
) -> Table:
    """A table of the leading ``columns`` whose widest cells fit in ``width``."""
    needed = [max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) + 3 for c in columns]
    keep = len(columns)
    while keep > 2 and sum(needed[:keep]) + 1 > width:
        keep -= 1
    table = Table(title=title, title_justify="left", caption_justify="left", header_style="bold")
    for column in columns[:keep]:
        table.add_column(column, no_wrap=True)
    for row in rows:  # data, not markup: "[fd00::5]" in a BMC address is a host
        table.add_row(*(_plain(row.get(c, "")) for c in columns[:keep]))
    if keep < len(columns):
        table.caption = (
            f"not shown: {', '.join(columns[keep:])} (widen the terminal or use -o json)"
        )
    return table


def dump(data: Any, fmt: str, stream: IO[str] | None = None) -> str:
    """``data`` as JSON, or as YAML that YAML 1.1 and 1.2 readers load alike; written to
    ``stream`` as it is made when one is given (then "" is returned), else returned.

    YAML comes from PyYAML's libyaml emitter, which quotes every string a YAML 1.1
    reader would take for something else (a MAC such as ``52:54:00:10:00:01`` is a
    base-60 integer in YAML 1.1, ``yes`` a boolean; yaml.org/type/int.html); YAML 1.2
    readers (ruamel.yaml) read the quoted strings as the same strings."""
    if fmt == "json":
        if stream is None:
            return json.dumps(data, indent=2) + "\n"
        json.dump(data, stream, indent=2)
        stream.write("\n")
        return ""
    import yaml  # only for -o yaml: not every command pays for the import

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str | None = yaml.dump(
        data, stream, Dumper=dumper, default_flow_style=False, sort_keys=False
    )
    return text or ""
