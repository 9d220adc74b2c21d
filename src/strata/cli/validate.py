"""`strata validate`, `strata plan` and `strata schema`: the topology file, checked and
planned, and the schema it follows."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from strata.cli.common import TOPOLOGY, check_topology, default_state
from strata.cli.render import diagnostics_text, dump, make_console, plan_tables, summary_line
from strata.plan import NodePlan, build_plan, to_jsonable
from strata.topology import Checked
from strata.topology.jsonschema import schema_json, schema_markdown

__all__ = ["plan", "schema", "validate"]


@click.command()
@TOPOLOGY
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def validate(file: Path, output: str) -> None:
    """Check FILE and report every finding with file:line:column. Exit 1 on errors."""
    checked = check_topology(file)
    if output == "json":
        click.echo(dump(_validation_json(file, checked), "json"), nl=False)
    else:
        console = make_console()
        diagnostics_text(console, checked.diagnostics, checked.omitted)
        if checked.topology is not None:
            console.print(
                f"[green]✓[/] {file}: valid — {summary_line(checked.topology)}", soft_wrap=True
            )
        else:
            errors, warnings = len(checked.errors), len(checked.warnings)
            more = f" and {checked.omitted:,} more not kept" if checked.omitted else ""
            console.print(f"[red]✗[/] {file}: {errors} error(s), {warnings} warning(s){more}")
    sys.exit(0 if checked.topology is not None else 1)


@click.command()
@TOPOLOGY
@click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite state file to diff against [FILE's dir/.strata/strata.db].",
)
def plan(file: Path, output: str, state: Path | None) -> None:
    """Show what apply would do with FILE: every node fully resolved, and its action
    (create, update, reprovision, delete) against what the last apply recorded."""
    checked = check_topology(file)
    if checked.topology is None:
        diagnostics_text(make_console(stderr=True), checked.diagnostics, checked.omitted)
        click.echo(f"{file}: invalid, no plan (run `strata validate -f {file}`)", err=True)
        sys.exit(1)
    result = build_plan(checked.topology, *_recorded(state or default_state(file)))
    if output == "table":
        console = make_console()
        diagnostics_text(console, checked.warnings)
        plan_tables(console, result)
    else:
        dump(to_jsonable(result), output, sys.stdout)  # streamed: 10,000 nodes are megabytes


@click.command()
@click.option(
    "--output", "-o", type=click.Choice(["json", "markdown"]), default="json", show_default=True
)
def schema(output: str) -> None:
    """Print the JSON Schema of topology.yaml (or its field reference as Markdown)."""
    click.echo(schema_json() if output == "json" else schema_markdown(), nl=False)


def _recorded(path: Path) -> tuple[dict[str, NodePlan], frozenset[str]]:
    """The plans the last apply recorded, and the nodes found running; none when nothing
    was applied (nothing is created)."""
    if not path.exists() and not path.is_symlink():  # a dangling link is a broken state
        return {}, frozenset()
    from strata.controller.recorded import recorded  # only when there is a state to read
    from strata.store import SQLiteStore

    store = SQLiteStore(path, read_only=True)
    try:
        return recorded(store)
    finally:
        store.close()


def _validation_json(file: Path, checked: Checked) -> dict[str, object]:
    return {
        "file": str(file),
        "valid": checked.topology is not None,
        "summary": checked.topology.summary() if checked.topology else None,
        "errors": [d.as_json() for d in checked.errors],
        "warnings": [d.as_json() for d in checked.warnings],
        "omitted": checked.omitted,
    }
