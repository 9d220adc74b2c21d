"""`strata seed`: build a bootable seed image, say what one holds, and start one (the live
system runs `strata seed start` at boot). docs/seed.md."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from strata.cli.seed_start_cmd import start

if TYPE_CHECKING:
    from strata.seed.payload import Manifest
    from strata.topology import Topology

__all__ = ["seed"]

_FILE = click.Path(dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)


@click.group()
def seed() -> None:
    """The seed: a bootable image (ISO / USB) that starts Strata on the first machine of an
    empty datacenter: build, inspect, start."""


seed.add_command(start)


@seed.command()
@click.argument("topology", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="The image.")
@click.option(
    "--artifacts",
    "artifact_dir",
    type=_DIR,
    help="The artifact mirror to carry [TOPOLOGY's dir/artifacts].",
)
@click.option("--node", metavar="NAME", help="The node of the topology the seed boots on.")
@click.option(
    "--passphrase-file", type=_FILE, help="The passphrase on the file's first line (else asked)."
)
@click.option(
    "--plaintext-secrets",
    is_flag=True,
    help="Carry the secrets in clear: anyone with the image reads them.",
)
@click.option(
    "--directory",
    is_flag=True,
    help="Write the medium's strata/ tree into OUTPUT (a directory) instead of an image.",
)
@click.option("--cache", type=_DIR, help="Where the live system is kept [~/.cache/strata/seed].")
def build(
    topology: Path,
    output: Path,
    artifact_dir: Path | None,
    node: str | None,
    passphrase_file: Path | None,
    plaintext_secrets: bool,
    directory: bool,
    cache: Path | None,
) -> None:
    """Build a seed image of TOPOLOGY: a live Debian system that boots to `strata seed
    start`, with the topology, its artifact mirror, the seed's network setup and its
    secrets (sealed with a passphrase unless --plaintext-secrets)."""
    from strata.cli.common import default_artifacts, topology_or_exit
    from strata.seed.payload import build_payload

    if plaintext_secrets and passphrase_file is not None:
        raise click.UsageError("--plaintext-secrets and --passphrase-file: give one")
    started = time.monotonic()
    checked = topology_or_exit(topology)
    if node is not None:
        _check_node(checked, node)
    passphrase = None
    if checked.credentials and not plaintext_secrets:
        passphrase = _build_passphrase(passphrase_file)
    manifest, payload = build_payload(
        topology,
        checked,
        node=node,
        artifacts=artifact_dir or default_artifacts(topology),
        passphrase=passphrase,
        plaintext=plaintext_secrets,
    )
    if node is not None and checked.node(node).role == "control-plane":
        say(
            f"warning: node {node} is a control plane of layer {checked.node(node).layer}: "
            "while the seed runs there it is held until the pivot, and its layer waits for "
            "it; name a worker"
        )
    _missing(topology, checked, artifact_dir or default_artifacts(topology))
    secrets = manifest.secrets
    kept = "sealed" if secrets.sealed else "IN CLEAR" if secrets.file else "none"
    say(
        f"payload: topology {manifest.topology}, {len(manifest.artifacts)} artifacts "
        f"({sum(a.size for a in manifest.artifacts) / 2**20:.1f} MiB), "
        f"{len(secrets.names)} secrets ({kept})"
    )
    if directory:
        _write_tree(output / "strata", payload)
        click.echo(f"{output}: the medium's strata/ tree ({time.monotonic() - started:.1f} s)")
        return
    from strata.seed.image import build_image
    from strata.seed.rootfs import live_root

    image = build_image(output, payload, root=live_root(cache, progress=say), progress=say)
    click.echo(
        f"{image.path}: {image.size / 2**20:.1f} MiB, sha256 {image.sha256}, "
        f"built in {time.monotonic() - started:.1f} s"
    )


def _check_node(topology: Topology, node: str) -> None:
    """The seed's own machine may be any node but the one that makes its layer's
    cluster (``seed_node_refusal``): refused before anything is asked or built."""
    from strata.plan import build_plan
    from strata.seed.handover import seed_node_refusal

    refused = seed_node_refusal(build_plan(topology), node)
    if refused is not None:
        raise click.BadParameter(refused, param_hint="--node")


def _missing(file: Path, topology: Topology, mirror: Path) -> None:
    """A warning for each file an install would fetch that the carried mirror lacks (the
    preflight `strata apply` runs at the seed, before powering anything on, refuses on
    them: better said now, where the files can be fetched)."""
    from strata.boot import AssetIndex
    from strata.boot.preflight import missing_artifacts
    from strata.plan import build_plan

    plan = build_plan(topology)
    for gap in missing_artifacts(plan.nodes, AssetIndex(mirror), plan.clusters):
        say(f"warning: the seed lacks artifacts for {gap.describe(file)}")


def say(line: str) -> None:
    click.echo(line, err=True)


def _build_passphrase(passphrase_file: Path | None) -> str:
    if passphrase_file is not None:
        lines = passphrase_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise click.UsageError(
            "the topology references secrets: give --passphrase-file (no terminal to ask at), "
            "or --plaintext-secrets"
        )
    return str(click.prompt("seed passphrase", hide_input=True, confirmation_prompt=True, err=True))


def _write_tree(root: Path, payload: Mapping[str, bytes | Path]) -> None:
    for name, content in sorted(payload.items()):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)


@seed.command()
@click.argument("image", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def inspect(image: Path, output: str) -> None:
    """What a seed image (or a medium's directory) holds: the topology's digest, the
    artifacts with their sums, the versions, whether its secrets are sealed — its
    secrets never opened. Exit 1 when an artifact's bytes differ from its sum."""
    from strata.seed.payload import read_contents, read_directory, sha256_bytes, sha256_of

    if image.is_dir():
        payload = read_directory(image / "strata")
        tree = {p: image / "strata" / p for p in _listed(image / "strata")}
        artifacts = {k: sha256_of(v)[1] for k, v in tree.items() if k.startswith("artifacts/")}
    else:
        from strata.seed.medium import read_payload

        payload = read_payload(image)
        artifacts = {k: sha256_bytes(v) for k, v in payload.items() if k.startswith("artifacts/")}
    manifest = read_contents(payload).manifest
    checked = {
        a.path: (artifacts[a.path] == a.sha256 if a.path in artifacts else None)
        for a in manifest.artifacts
    }
    if output == "json":
        data = {"image": str(image), "seed": json.loads(manifest.to_json()), "verified": checked}
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        _inspect_text(manifest, checked)
    sys.exit(1 if False in checked.values() else 0)  # an artifact whose bytes changed


def _listed(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _inspect_text(manifest: Manifest, checked: Mapping[str, bool | None]) -> None:
    secrets = manifest.secrets
    kept = (
        f"sealed ({secrets.cipher})"
        if secrets.sealed
        else "IN CLEAR (--plaintext-secrets)"
        if secrets.file
        else "none"
    )
    click.echo(f"seed format {manifest.format}, built by Strata {manifest.strata}")
    click.echo(
        f"topology: {manifest.topology}, sha256 {manifest.topology_sha256} ({manifest.topology_size} bytes)"
    )
    click.echo(f"node: {manifest.node or '(none: the seed is not a node of the topology)'}")
    for side in manifest.network:
        nic = f"{side.interface or '?'} {side.mac}" if side.mac else "no NIC named"
        click.echo(
            f"network {side.purpose}: {side.network} {side.cidr}, {nic}, address {side.address or 'none'}"
        )
    click.echo(f"pivot: {manifest.pivot or 'none'}")
    click.echo(f"secrets: {kept}; {', '.join(secrets.names) or 'none'}")
    total = sum(a.size for a in manifest.artifacts)
    click.echo(f"artifacts: {len(manifest.artifacts)}, {total / 2**20:.1f} MiB")
    for a in manifest.artifacts:
        mark = {True: "verified", False: "SUM DIFFERS", None: "not read"}[checked[a.path]]
        click.echo(f"  {a.path}  {a.size}  {a.sha256}  {mark}")
    for f in manifest.files:
        click.echo(f"  {f.path}  ({f.name})  {f.sha256}")
