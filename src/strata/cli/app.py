"""The ``strata`` command: a group whose subcommands are imported when they are run.

``strata --version``, ``--help`` and ``validate`` should answer at once; importing every
command's libraries (sushy, pyghmi, uvicorn, the controller) up front cost half a second
of CPU on every call. Each command's module is named here with its one-line help, and
imported only when that command runs (click's "lazily loading subcommands" pattern).
"""

from __future__ import annotations

import importlib
import logging
import os
import sqlite3
import sys
from typing import IO, Any

import click

from strata import __version__

__all__ = ["COMMANDS", "cli", "main", "refusal"]

# name -> (module:attribute, one line of help: the start of the command's own docstring)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "strata.cli.validate:validate",
        "Check FILE and report every finding with file:line:column.",
    ),
    "plan": (
        "strata.cli.validate:plan",
        "Show what apply would do with FILE: every node fully resolved, and its action…",
    ),
    "schema": (
        "strata.cli.validate:schema",
        "Print the JSON Schema of topology.yaml (or its field reference as Markdown).",
    ),
    "apply": (
        "strata.cli.apply:apply",
        "Provision FILE's datacenter: every node from declared to joined, Ready in its layer's "
        "cluster (or to provisioned, with --until provisioned), or failed.",
    ),
    "status": (
        "strata.cli.status:status",
        "Nodes by state per layer, region and rack; failed nodes and why; recent events.",
    ),
    "events": (
        "strata.cli.status:events",
        "NODE's event log: its state changes, and what its machine and the boot service did.",
    ),
    "retry": (
        "strata.cli.steer:retry",
        "Send failed NODEs back into the lifecycle (from registering: BMC, inspection, install).",
    ),
    "adopt": (
        "strata.cli.steer:adopt",
        "Take found-running NODEs as provisioned without touching them.",
    ),
    "maintenance": (
        "strata.cli.steer:maintenance",
        "Put NODEs in maintenance (hands off) or take them out: on NODE… | off NODE….",
    ),
    "bmc": (
        "strata.cli.bmc:bmc",
        "Drive NODE's BMC: status, on, off, graceful-off, reset, cycle, bootdev…",
    ),
    "inspect": (
        "strata.cli.bmc:inspect",
        "Read each node's inventory from its BMC and compare it with the topology (MACs, disks).",
    ),
    "serve": (
        "strata.cli.serve:serve",
        "Run the boot service for FILE: iPXE scripts, Ignition configs, phone-home, artifacts.",
    ),
    "artifacts": ("strata.cli.serve:artifacts", "The artifact mirror that machines install from."),
    "token": (
        "strata.cli.token_cmd:token",
        "Print the bearer token of FILE's web face (`--web-listen`): what a client off the…",
    ),
    "kubeconfig": (
        "strata.cli.kube:kubeconfig",
        "Print an admin kubeconfig for LAYER's cluster: its endpoint, its CA, and a client…",
    ),
    "topology": (
        "strata.cli.topology_cmd:topology",
        "Topology objects in a Kubernetes cluster: apply.",
    ),
    "export": (
        "strata.cli.metal3_cmd:export_group",
        "Write FILE's servers and clusters in another project's terms (metal3).",
    ),
    "import": (
        "strata.cli.metal3_cmd:import_group",
        "Read another project's objects as a topology.yaml (metal3).",
    ),
    "lab": (
        "strata.cli.lab:lab",
        "A virtual datacenter: QEMU machines behind emulated Redfish BMCs.",
    ),
    "pivot": (
        "strata.cli.pivot_cmd:pivot",
        "Move the management plane: the topology's whole state, from the state file (or…",
    ),
    "seed": (
        "strata.cli.seed_cmd:seed",
        "The seed: a bootable image (ISO / USB) that starts Strata on the first machine of…",
    ),
    "controller": (
        "strata.cli.controller_cmd:controller",
        "Run the in-cluster controller: list Topology objects every --resync seconds,…",
    ),
}


class _Refused(click.ClickException):
    """A ``StrataError`` as the CLI ends on it: one line for the problem, one for the fix,
    the error's exit code."""

    def __init__(self, message: str, hint: str | None, exit_code: int) -> None:
        super().__init__(message)
        self.hint = hint
        setattr(self, "exit_code", exit_code)  # noqa: B010 (click declares it a class variable)

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(
            f"error: {self.message}" + (f"\nhint: {self.hint}" if self.hint else ""), err=True
        )


def refusal(error: BaseException) -> _Refused | None:
    """The one boundary: a ``StrataError`` (or SQLite's own fault with a state file) as
    the message and exit code the CLI ends on; None for anything else (a bug: traceback)."""
    from strata.errors import StrataError
    from strata.topology.diagnostics import printable  # a message may carry what a file holds

    if isinstance(error, StrataError):
        hint = printable(error.hint) if error.hint else None
        return _Refused(printable(str(error)), hint, error.exit_code)
    if isinstance(error, sqlite3.DatabaseError):
        return _Refused(
            f"the state file could not be read or written: {error}",
            "check its permissions and the disk; restore it from a backup if it is damaged",
            2,
        )
    return None


class _Strata(click.Group):
    """Lazily imported commands, and the boundary where a ``StrataError`` becomes a message."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        _with_verbose(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                raise
            raise refused from None


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
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)  # also when a command's own -v comes after the group's
    from strata.cli.logs import hide_tokens  # small: --version imports no command

    hide_tokens()  # a library's debug line may carry a signed URL
    for library in ("sushy", "urllib3", "pyghmi", "werkzeug"):
        logging.getLogger(library).setLevel(logging.DEBUG if verbose >= 2 else logging.CRITICAL)


def _with_verbose(command: click.Command) -> None:
    """``-v`` after the command name too (``strata apply -v``), not only before it."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_verbose(sub)
    if not any("--verbose" in getattr(p, "opts", ()) for p in command.params):
        command.params.append(
            click.Option(
                ["--verbose", "-v"],
                count=True,
                expose_value=False,
                help="-v: progress of BMC work, -vv: library debug.",
                callback=lambda ctx, param, value: _logging(value) if value else None,
            )
        )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
