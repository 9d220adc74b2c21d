"""`strata kubeconfig LAYER`: an admin kubeconfig for a layer's cluster, minted from the
CA the store keeps for it (``strata.kube.material_store``)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import click

from strata.cli.common import FILE_OPTION, STATE, default_state, topology_or_exit
from strata.errors import StrataError
from strata.kube.material_store import layer_admin_kubeconfig, stored_material
from strata.plan import build_plan
from strata.plan.model import ClusterPlan, UnknownLayer
from strata.store import SQLiteStore

__all__ = ["MAX_TTL", "LayerRefused", "kubeconfig", "parse_duration"]

DEFAULT_TTL = "1h"  # pki.ADMIN_CERT_LIFETIME: a printed kubeconfig that leaks stops soon
MAX_TTL = datetime.timedelta(hours=24)
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class LayerRefused(StrataError):
    """No kubeconfig for the layer: it is not in the topology, or the store keeps no
    cluster material for it yet. Nothing was written."""

    kind = "kubeconfig-refused"
    exit_code = 2

    def __init__(self, message: str, hint: str | None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_duration(text: str) -> datetime.timedelta:
    """``1h``, ``30m``, ``1h30m``, ``90s`` (Go's duration spelling, as kubectl takes it)
    -> a timedelta in (0, ``MAX_TTL``]; ``click.BadParameter`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        raise click.BadParameter(f"{text!r} is not a duration like 1h, 30m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    ttl = datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if not datetime.timedelta(0) < ttl <= MAX_TTL:
        raise click.BadParameter(f"{text} is not between 1s and {_spell(MAX_TTL)}")
    return ttl


@click.command()
@click.argument("layer")
@FILE_OPTION
@STATE
@click.option(
    "--ttl",
    default=DEFAULT_TTL,
    show_default=True,
    metavar="DURATION",
    callback=lambda ctx, param, value: parse_duration(value),
    help="How long the client certificate is valid: 30m, 1h, 12h… (at most 24h).",
)
def kubeconfig(layer: str, file: Path, state: Path | None, ttl: datetime.timedelta) -> None:
    """Print an admin kubeconfig for LAYER's cluster: its endpoint, its CA, and a client
    certificate valid 1 hour (--ttl, at most 24 h).

    The certificate is minted now from the CA Strata keeps for the layer (CN
    strata-admin, O system:masters: cluster-admin) and is not recorded anywhere: when it
    expires, run this again. The state file is only read. Refused (exit 2) when LAYER is
    not in FILE or nothing was applied to it yet.

    \b
      strata kubeconfig mgmt > mgmt.kubeconfig
      kubectl --kubeconfig mgmt.kubeconfig get nodes"""
    cluster = _layer(file, layer)
    path = state or default_state(file)
    text = _kubeconfig(path, cluster.name, cluster.endpoint, ttl, file)
    click.echo(text, nl=False)
    until = datetime.datetime.now(datetime.UTC) + ttl
    click.echo(f"# client certificate valid until {until:%Y-%m-%d %H:%M} UTC", err=True)


def _layer(file: Path, name: str) -> ClusterPlan:
    """The layer's ClusterPlan; ``LayerRefused`` (with a did-you-mean) when FILE has none."""
    try:
        return build_plan(topology_or_exit(file)).layer(name)
    except UnknownLayer as unknown:
        raise LayerRefused(f"{file}: {unknown}", unknown.hint) from None


def _kubeconfig(
    path: Path, layer: str, server: str, lifetime: datetime.timedelta, file: Path
) -> str:
    """Reads the layer's material from the state at ``path`` (read-only) and mints the
    kubeconfig; ``LayerRefused`` when there is no state or no material for the layer."""
    apply_first = f"run `strata apply -f {file}` first: it makes the layer's CA"
    if not path.exists() and not path.is_symlink():  # a dangling link is a broken state
        raise LayerRefused(f"no state at {path}: nothing was applied yet", apply_first)
    store = SQLiteStore(path, read_only=True)
    try:
        material = stored_material(store, layer)
    finally:
        store.close()
    if material is None:
        raise LayerRefused(f"the state at {path} keeps no cluster for layer {layer}", apply_first)
    now = datetime.datetime.now(datetime.UTC)
    return layer_admin_kubeconfig(material, server, now, lifetime)


def _spell(delta: datetime.timedelta) -> str:
    return f"{int(delta.total_seconds() // 3600)}h"
