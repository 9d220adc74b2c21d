"""`strata topology apply`: a topology file sent to a Kubernetes cluster as a Topology
object, for Strata's in-cluster controller (docs/in-cluster.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from strata.cli.common import TOPOLOGY, check_topology
from strata.cli.render import diagnostics_text, make_console

__all__ = ["topology"]


@click.group()
def topology() -> None:
    """Topology objects in a Kubernetes cluster: apply."""


@topology.command()
@TOPOLOGY
@click.option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Kubeconfig of the cluster Strata's controller runs in (its current context).",
)
@click.option("--namespace", "-n", help="Namespace of the Topology [the context's, else default].")
@click.option("--dry-run", is_flag=True, help="Have the API server check it; store nothing.")
@click.option(
    "--allow-reprovision",
    "reprovision",
    multiple=True,
    metavar="NODE",
    help="Consent: NODE may be reinstalled (repeat the option for more).",
)
@click.option("--prune", is_flag=True, help="Consent: servers gone from FILE may be deleted.")
@click.option("--force-conflicts", is_flag=True, help="Take over fields another field manager set.")
def apply(
    file: Path,
    kubeconfig: Path,
    namespace: str | None,
    dry_run: bool,
    reprovision: tuple[str, ...],
    prune: bool,
    force_conflicts: bool,
) -> None:
    """Validate FILE as `strata validate` does, then server-side apply it as a Topology
    object (field manager strata). Nothing is sent when FILE has errors (exit 1).

    Consent options are sent only when given: a consent written by someone else (kubectl,
    a GitOps repository) stays as it is."""
    from ruamel.yaml import YAML

    from strata.operator.objects import apply_topology, topology_object

    checked = check_topology(file)
    if checked.topology is None:
        diagnostics_text(make_console(stderr=True), checked.errors, checked.omitted)
        click.echo(f"{file}: invalid, nothing sent (run `strata validate -f {file}`)", err=True)
        sys.exit(1)
    document = YAML(typ="safe", pure=True).load(file.read_text())
    consent: dict[str, Any] = {}
    if reprovision:
        consent["allowReprovision"] = list(reprovision)
    if prune:
        consent["prune"] = True
    obj = topology_object(document, namespace, consent)
    applied = apply_topology(obj, kubeconfig, dry_run=dry_run, force=force_conflicts)
    meta = applied.get("metadata", {})
    done = "checked by the API server (dry run, nothing stored)" if dry_run else "applied"
    click.echo(
        f"topology.strata.dev/{meta.get('name')} in namespace {meta.get('namespace')}: {done}"
        f" — {checked.topology.summary()['nodes']:,} nodes"
    )
