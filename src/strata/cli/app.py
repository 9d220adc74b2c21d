"""The ``strata`` command."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console

from strata import __version__
from strata.cli.apply import apply, found_running, recorded_plans
from strata.cli.bmc import bmc, inspect
from strata.cli.common import TOPOLOGY, default_state
from strata.cli.lab import lab
from strata.cli.render import diagnostics_text, dump, plan_tables, summary_line
from strata.cli.serve import artifacts, serve
from strata.cli.status import events, status
from strata.cli.steer import adopt, retry
from strata.plan import NodePlan, build_plan, to_jsonable
from strata.store import SQLiteStore, StateFileError
from strata.topology import Checked, check_file
from strata.topology.jsonschema import schema_json, schema_markdown

__all__ = ["cli", "main"]


class _Refused(click.ClickException):
    """A state file Strata will not work from: one line for the problem, one for the fix."""

    exit_code = 2

    def __init__(self, error: StateFileError) -> None:
        super().__init__(str(error))
        self.hint = error.hint

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}\nhint: {self.hint}", err=True)


class _Strata(click.Group):
    """The command group, with the boundary where a refused state file becomes a message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StateFileError as exc:
            raise _Refused(exc) from None


@click.group(cls=_Strata, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="strata")
@click.option("--verbose", "-v", count=True, help="-v: progress of BMC work, -vv: library debug.")
def cli(verbose: int) -> None:
    """Provision bare-metal datacenters from one declarative topology.yaml."""
    # Whatever the caller's umask, what Strata writes (state, keys, DHCP files, the lab's
    # files, the artifact mirror) is its own: 0600 files, 0700 directories.
    os.umask(0o077)
    _logging(verbose)


def _logging(verbose: int) -> None:
    """Structured lines on stderr. Libraries speak only at -vv: Strata reports their faults itself."""
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="%(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for library in ("sushy", "urllib3", "pyghmi", "werkzeug"):
        logging.getLogger(library).setLevel(logging.DEBUG if verbose >= 2 else logging.CRITICAL)


@cli.command()
@TOPOLOGY
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def validate(file: Path, output: str) -> None:
    """Check FILE and report every finding with file:line:column. Exit 1 on errors."""
    checked = check_file(file)
    if output == "json":
        click.echo(dump(_validation_json(file, checked), "json"), nl=False)
    else:
        console = Console(stderr=False, highlight=False)
        diagnostics_text(console, checked.diagnostics)
        if checked.topology is not None:
            console.print(
                f"[green]✓[/] {file}: valid — {summary_line(checked.topology)}", soft_wrap=True
            )
        else:
            errors, warnings = len(checked.errors), len(checked.warnings)
            console.print(f"[red]✗[/] {file}: {errors} error(s), {warnings} warning(s)")
    sys.exit(0 if checked.topology is not None else 1)


@cli.command()
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
    checked = check_file(file)
    if checked.topology is None:
        diagnostics_text(Console(stderr=True, highlight=False), checked.diagnostics)
        click.echo(f"{file}: invalid, no plan (run `strata validate {file}`)", err=True)
        sys.exit(1)
    result = build_plan(checked.topology, *_recorded(state or default_state(file)))
    if output == "table":
        console = Console(highlight=False)
        diagnostics_text(console, checked.warnings)
        plan_tables(console, result)
    else:
        click.echo(dump(to_jsonable(result), output), nl=False)


@cli.command()
@click.option(
    "--output", "-o", type=click.Choice(["json", "markdown"]), default="json", show_default=True
)
def schema(output: str) -> None:
    """Print the JSON Schema of topology.yaml (or its field reference as Markdown)."""
    click.echo(schema_json() if output == "json" else schema_markdown(), nl=False)


def _recorded(path: Path) -> tuple[dict[str, NodePlan], frozenset[str]]:
    """The plans the last apply recorded, and the nodes found running; none when nothing
    was applied (nothing is created)."""
    if not path.exists():
        return {}, frozenset()
    store = SQLiteStore(path, read_only=True)
    try:
        return recorded_plans(store), found_running(store)
    finally:
        store.close()


def _validation_json(file: Path, checked: Checked) -> dict[str, object]:
    return {
        "file": str(file),
        "valid": checked.topology is not None,
        "summary": checked.topology.summary() if checked.topology else None,
        "errors": [d.as_json() for d in checked.errors],
        "warnings": [d.as_json() for d in checked.warnings],
    }


cli.add_command(bmc)
cli.add_command(inspect)
cli.add_command(serve)
cli.add_command(artifacts)
cli.add_command(apply)
cli.add_command(status)
cli.add_command(events)
cli.add_command(retry)
cli.add_command(adopt)
cli.add_command(lab)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
