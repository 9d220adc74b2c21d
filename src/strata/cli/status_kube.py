"""`strata status --kubeconfig` / `strata events --kubeconfig`: the same views, read from
the Kubernetes store of a topology that ``strata controller`` drives in a cluster.

What is read: the Topology object (its layers, for the clusters table), its Servers and
log segments through ``strata.store.KubeStore`` (read-only: nothing is written), and the
controller replicas' shard Leases (``strata.operator.shards``) for "driven by". The
credentials are the kubeconfig's (its current context), as kubectl's.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import click

from strata.cli.status_clusters import Clusters
from strata.plan import build_plan
from strata.store import LogEntry, NodeRecord, NodeSummary

if TYPE_CHECKING:
    from strata.store import KubeStore

__all__ = ["KubeSource", "StatusStore", "kube_source"]


class StatusStore(Protocol):
    """What status and events read of a store (SQLite or Kubernetes)."""

    def summaries(self) -> list[NodeSummary]: ...

    def records(self) -> dict[str, NodeRecord]: ...

    def writer(self, now: float | None = None) -> tuple[str, float] | None: ...

    def recent_events(self, limit: int) -> list[LogEntry]: ...

    def events(self, node: str) -> list[LogEntry]: ...

    def latest(self, kinds: Collection[str], node: str) -> LogEntry | None: ...


@dataclass(frozen=True, slots=True)
class KubeSource:
    """A topology in a cluster as status reads it: its store, its layers, and the
    controller replicas holding its namespace's shards (empty: none running)."""

    store: KubeStore
    clusters: Clusters
    drivers: tuple[str, ...]
    where: str  # "namespace/topology", for messages


def kube_source(kubeconfig: Path, namespace: str | None, topology: str) -> KubeSource:
    """Opens what ``status`` reads; exits 1 with the reason when the API cannot be
    read or the Topology object does not exist (nothing is written either way)."""
    from lightkube import ApiError, Client
    from lightkube.core.exceptions import ConfigError

    from strata.kube.kubeconfig_load import KubeconfigRefused, load_kubeconfig
    from strata.store import KubeStore, KubeStoreError

    try:
        client = Client(load_kubeconfig(kubeconfig), trust_env=False)
    except KubeconfigRefused as refused:
        _exit(str(refused))
    except (ConfigError, OSError, KeyError, ValueError) as exc:
        _exit(f"{kubeconfig}: cannot use this kubeconfig: {exc}")
    namespace = namespace or client.namespace
    where = f"{namespace}/{topology}"
    try:
        obj = _topology_object(client, namespace, topology)
        drivers = _shard_holders(client, namespace)
    except ApiError as exc:
        _exit(f"the API server refused to show Topology {where}: {exc.status.message}")
    except Exception as exc:  # httpx2's transport errors: the API was not reached
        _exit(f"the API server named in {kubeconfig} was not reached: {type(exc).__name__}")
    if obj is None:
        _exit(f"no Topology {where} (kubectl get topologies -n {namespace})")
    try:
        store = KubeStore.from_kubeconfig(kubeconfig, namespace, topology)
    except KubeStoreError as exc:
        _exit(str(exc))
    return KubeSource(store, _clusters(obj, where), drivers, where)


def _topology_object(client: Any, namespace: str, name: str) -> Mapping[str, Any] | None:
    from lightkube import ApiError
    from lightkube.generic_resource import create_namespaced_resource

    from strata.operator.crds import GROUP, VERSION

    kind = create_namespaced_resource(GROUP, VERSION, "Topology", "topologies")
    try:
        return dict(client.get(kind, name, namespace=namespace).to_dict())
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise


def _shard_holders(client: Any, namespace: str) -> tuple[str, ...]:
    """The replicas holding a live shard Lease in ``namespace``, by name."""
    import time

    from lightkube.resources.coordination_v1 import Lease

    from strata.operator.shards import LABEL

    holders: set[str] = set()
    for lease in client.list(Lease, namespace=namespace, labels={LABEL: "shard"}):
        spec = lease.spec
        if spec is None or not spec.holderIdentity or spec.renewTime is None:
            continue
        age = time.time() - spec.renewTime.timestamp()
        if age <= (spec.leaseDurationSeconds or 0):
            holders.add(spec.holderIdentity)
    return tuple(sorted(holders))


def _clusters(obj: Mapping[str, Any], where: str) -> Clusters:
    from strata.operator.findings import check_object

    checked = check_object(obj)
    if checked.topology is None:
        first = checked.errors[0] if checked.errors else "not a valid topology"
        return Clusters(unavailable=f"Topology {where}: {first}; no clusters to show")
    return Clusters(build_plan(checked.topology).clusters)


def _exit(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
