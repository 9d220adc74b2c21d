"""`strata topology apply`: a topology file sent to a Kubernetes cluster as a Topology
object, for Strata's in-cluster controller (docs/in-cluster.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from strata.cli.common import TOPOLOGY, check_topology
from strata.cli.render import diagnostics_text, make_console
from strata.topology.diagnostics import format_path

__all__ = ["topology"]


@click.group()
def topology() -> None:
    """Topology objects in a Kubernetes cluster: apply."""


@topology.command()
@TOPOLOGY
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Kubeconfig of the cluster Strata's controller runs in, its current context "
    "[as kubectl: $KUBECONFIG, else ~/.kube/config].",
)
@click.option(
    "--namespace",
    "-n",
    help="Namespace of the Topology [FILE's metadata.namespace, else the context's, else "
    "default]; the controller reads its own (strata-system with deploy/).",
)
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
    kubeconfig: Path | None,
    namespace: str | None,
    dry_run: bool,
    reprovision: tuple[str, ...],
    prune: bool,
    force_conflicts: bool,
) -> None:
    """Validate FILE as `strata validate` does, then server-side apply it as a Topology
    object (field manager strata). Nothing is sent when FILE has errors (exit 1).

    FILE is a topology document or a Topology object (its spec.consent sent as written).
    Ignition fragment files are sent inline; a file the controller would have to read
    (caBundle, a password file) is refused. Consent options are sent only when given: a
    consent written by someone else (kubectl, a GitOps repository) stays as it is."""
    from strata.operator.objects import apply_topology, default_kubeconfig

    console = make_console(stderr=True)
    checked = check_topology(file)
    if checked.topology is None:
        diagnostics_text(console, checked.diagnostics, checked.omitted)
        click.echo(f"{file}: invalid, nothing sent (run `strata validate -f {file}`)", err=True)
        sys.exit(1)
    diagnostics_text(console, checked.warnings)
    nodes = {n.name for n in checked.topology.nodes}
    obj = _object(file, namespace, _consent(reprovision, prune, nodes))
    config = kubeconfig or default_kubeconfig()
    applied = apply_topology(obj, config, dry_run=dry_run, force=force_conflicts)
    meta = applied.get("metadata", {})
    done = "checked by the API server (dry run, nothing stored)" if dry_run else "applied"
    click.echo(
        f"topology.strata.dev/{meta.get('name')} in namespace {meta.get('namespace')}: {done}"
        f" — {checked.topology.summary()['nodes']:,} nodes"
    )
    if not obj["metadata"].get("namespace"):
        click.echo(
            f"namespace {meta.get('namespace')}: {config}'s context's; the controller reads "
            "Topology objects in its own namespace (strata-system with deploy/): -n names it",
            err=True,
        )


def _consent(reprovision: tuple[str, ...], prune: bool, nodes: set[str]) -> dict[str, Any]:
    """The consent the options give: each node once, every one a node of FILE."""
    from strata.topology.diagnostics import did_you_mean

    consent: dict[str, Any] = {}
    for name in reprovision:
        if name not in nodes:
            hint = did_you_mean(name, nodes) or "name a node of FILE"
            raise click.UsageError(f"--allow-reprovision {name}: no such node in FILE ({hint})")
    if reprovision:
        consent["allowReprovision"] = list(dict.fromkeys(reprovision))
    if prune:
        consent["prune"] = True
    return consent


def _object(file: Path, namespace: str | None, consent: dict[str, Any]) -> dict[str, Any]:
    """The Topology object for FILE (a document or an object), its file references
    inlined or refused (exit 1, each refusal located)."""
    from ruamel.yaml import YAML

    from strata.operator.objects import topology_document, topology_object
    from strata.operator.portable import portable
    from strata.topology.object_form import is_object, object_path
    from strata.topology.source import parse_yaml

    text = file.read_text()
    loaded = YAML(typ="safe", pure=True).load(text)
    form = is_object(loaded)
    document = topology_document(loaded) if form else loaded
    document, refused = portable(document, file.parent)
    if refused:
        where = parse_yaml(text, str(file))
        for r in refused:
            path = object_path(r.path) if form else r.path
            line, column = where.locate(path)
            hint = f" ({r.hint})" if r.hint else ""
            click.echo(
                f"{file}:{line}:{column}: error: {format_path(path)}: {r.message}{hint}", err=True
            )
        click.echo(f"{file}: nothing sent", err=True)
        sys.exit(1)
    if not form:
        return topology_object(document, namespace, consent)
    meta = loaded.get("metadata") or {}
    consent = {**((loaded.get("spec") or {}).get("consent") or {}), **consent}
    obj = topology_object(document, namespace or meta.get("namespace"), consent)
    if meta.get("annotations"):
        obj["metadata"]["annotations"] = dict(meta["annotations"])
    return obj
