"""`strata pivot`'s flags for a controller it starts on this host at resume
(``--controller host``, or ``auto`` on a cluster that runs no pods): the boot flags of
`strata controller`, under the same names, passed on as given (``strata.pivot.resume``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from strata.cli.common import default_artifacts

__all__ = ["CONTROLLER_MODES", "HOST_CONTROLLER", "host_args"]

# --controller of `strata pivot` and `strata apply`: strata.pivot.resume.MODES, spelled
# here so that neither command imports the pivot (~0.3 s) before it runs one
CONTROLLER_MODES = ("auto", "cluster", "host", "none")

_OPTIONS = [
    click.option("--listen", help="A host controller's boot service: HOST:PORT [0.0.0.0:8080]."),
    click.option("--url", help="How machines reach that boot service [from --listen]."),
    click.option(
        "--dhcp-interface", metavar="IFACE", help="A host controller also runs dnsmasq on IFACE."
    ),
    click.option("--no-serve", is_flag=True, help="A host controller serves no boot service."),
    click.option(
        "--artifacts",
        "artifact_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="The mirror a host controller serves [FILE's dir/artifacts, as strata apply].",
    ),
    click.option(
        "--until",
        type=click.Choice(["provisioned", "joined"]),
        help="Where a host controller takes each server [joined].",
    ),
    click.option(
        "--timeout",
        "timeouts",
        multiple=True,
        metavar="PHASE=SECONDS",
        help="A host controller's phase time limit (repeatable).",
    ),
    click.option("--health-addr", help="Where a host controller answers /healthz [0.0.0.0:8081]."),
]


def HOST_CONTROLLER(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def host_args(
    file: Path,
    source: Any,
    listen: str | None,
    url: str | None,
    dhcp_interface: str | None,
    no_serve: bool,
    artifact_dir: Path | None,
    until: str | None,
    timeouts: tuple[str, ...],
    health_addr: str | None,
) -> tuple[str, ...]:
    """`strata controller`'s arguments for what was given; the mirror defaults to FILE's
    (as `strata apply` and `strata serve` read it) when moving from a state file."""
    args: list[str] = []
    for flag, value in (
        ("--listen", listen),
        ("--url", url),
        ("--dhcp-interface", dhcp_interface),
        ("--until", until),
        ("--health-addr", health_addr),
    ):
        if value is not None:
            args += [flag, value]
    if artifact_dir is None and getattr(source, "kind", "") == "sqlite":
        artifact_dir = default_artifacts(file)
    if artifact_dir is not None:
        args += ["--artifacts", str(artifact_dir.resolve())]
    for timeout in timeouts:
        args += ["--timeout", timeout]
    if no_serve:
        args.append("--no-serve")
    return tuple(args)
