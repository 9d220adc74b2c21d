"""`strata export metal3` and `strata import metal3`: a topology as Metal3 BareMetalHosts
and Cluster API objects, and BareMetalHosts back as a topology (docs/metal3.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from strata.cli.common import TOPOLOGY, default_artifacts, topology_or_exit

__all__ = ["export_group", "import_group"]


@click.group("export")
def export_group() -> None:
    """Write FILE's servers and clusters in another project's terms (metal3)."""


@export_group.command("metal3")
@TOPOLOGY
@click.option("--layer", "-l", help="Only this layer's servers and Cluster API objects.")
@click.option("--namespace", "-n", help="metadata.namespace of every object [none written].")
@click.option(
    "--no-cluster-api",
    is_flag=True,
    help="BareMetalHosts and Secrets only, no Cluster API objects.",
)
@click.option(
    "--image-base",
    help="URL the OS disk images are served under as <os>/<version>/<file> (the Metal3 "
    "image); needed with Cluster API objects.",
)
@click.option(
    "--artifacts",
    "artifact_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Artifact mirror whose checksum files give the image checksum [FILE's dir/artifacts].",
)
@click.option(
    "--state",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="State file: servers it records as provisioned are externallyProvisioned [none read].",
)
@click.option(
    "--output", "-o", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
def export_metal3(
    file: Path,
    layer: str | None,
    namespace: str | None,
    no_cluster_api: bool,
    image_base: str | None,
    artifact_dir: Path | None,
    state: Path | None,
    output: str,
) -> None:
    """Print FILE as Metal3 BareMetalHosts, their BMC credential Secrets and, per kubeadm
    layer, the Cluster API objects (Cluster, Metal3Cluster, KubeadmControlPlane,
    Metal3MachineTemplate, KubeadmConfigTemplate, MachineDeployment). Servers a state
    file (--state) records as provisioned are externallyProvisioned. The Secrets carry the BMC
    passwords: send the output to a file only you can read, or straight to kubectl."""
    from strata.metal3.export import ExportOptions, export_metal3
    from strata.metal3.output import dump_documents

    topology = topology_or_exit(file)
    options = ExportOptions(
        layer=layer,
        namespace=namespace,
        cluster_api=not no_cluster_api,
        provisioned=_provisioned(state) if state is not None else frozenset(),
        image_base=image_base,
        artifacts=artifact_dir or default_artifacts(file),
    )
    exported = export_metal3(topology, options)
    for note in exported.notes:
        click.echo(f"note: {note}", err=True)
    sys.stdout.write(dump_documents(exported.documents, output))


@click.group("import")
def import_group() -> None:
    """Read another project's objects as a topology.yaml (metal3)."""


@import_group.command("metal3")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--output",
    "-o",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the topology here [standard output]; nothing is written on an error.",
)
@click.option(
    "--name", default="imported", show_default=True, help="metadata.name of the topology."
)
def import_metal3(files: tuple[Path, ...], out: Path | None, name: str) -> None:
    """Read BareMetalHosts (and their credential Secrets) from FILES and write a
    topology.yaml: one rack per strata.dev/rack label, passwords as environment variables
    named after the Secret."""
    from strata.metal3.importer import import_hosts
    from strata.metal3.shapes import ImportError_
    from strata.topology.diagnostics import printable  # messages carry what the input holds

    try:
        imported = import_hosts([(str(f), _text(f)) for f in files], name=name)
    except ImportError_ as exc:  # one line per problem, each located in the input
        for line in str(exc).splitlines():
            click.echo(f"error: {printable(line)}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    for note in imported.notes:
        click.echo(f"note: {note}", err=True)
    if out is None:
        sys.stdout.write(imported.text)
    else:
        write_atomically(out, imported.text)
        click.echo(f"wrote {out}: {imported.hosts} host(s)", err=True)


def _text(path: Path) -> str:
    """The file as UTF-8 text (YAML 1.2's encoding for Kubernetes manifests)."""
    from strata.metal3.shapes import ImportError_

    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportError_(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ImportError_(f"{path}: cannot be read ({exc.strerror})") from None


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` whole or not at all: a temporary file beside it (owner-only,
    as an import's topology names secrets' variables), flushed, then renamed over it
    (os.replace, atomic on POSIX); a device or pipe (``/dev/stdout``) written in place.
    Raises ``ImportError_`` naming the path."""
    import os
    import tempfile

    from strata.metal3.shapes import ImportError_

    if path.exists() and not path.is_file():  # a device or pipe is written, never replaced
        try:
            with path.open("w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as exc:
            raise ImportError_(f"{path}: cannot be written ({exc.strerror})") from None
        return
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as exc:
        raise ImportError_(f"{path}: cannot be written ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise ImportError_(f"{path}: cannot be written ({exc.strerror}); nothing written") from None


def _provisioned(state: Path) -> frozenset[str]:
    """Servers the state file records as installed by Strata (provisioned, joining,
    joined)."""
    from strata.store import SQLiteStore

    store = SQLiteStore(state, read_only=True)
    try:
        done = {"provisioned", "joining", "joined"}
        return frozenset(s.name for s in store.summaries() if s.state in done)
    finally:
        store.close()
