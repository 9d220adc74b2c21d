"""How many labels a node may carry, and how many bytes they hold: bounded per node, so
what a plan and the state hold grows with the servers (``expansion.MAX_SERVERS``), not
with servers times labels.

Labels merge key by key down the tree (defaults -> region -> zone -> rack -> node), so one
line in ``defaults`` reaches every node: 8,000 default labels on 20,000 generated nodes is
a 278 KB file whose plan holds 160 million labels. Kubernetes sets no number of labels on
an object, but it bounds the object: the API server keeps a Node as one etcd value, and
etcd refuses a request over 1.5 MiB by default (etcd.io/docs/v3.5/dev-guide/limit/,
"Request size limit"; kube-apiserver reads request bodies up to 3 MiB,
``MaxRequestBodyBytes`` in k8s.io/apiserver pkg/server/config.go, since JSON shrinks to
protobuf on its way to etcd). Annotations, the free-form neighbour of labels, are capped at
256 KiB together (``TotalAnnotationSizeLimitB``, k8s.io/apimachinery
pkg/api/validation/objectmeta.go). A Node must also hold its status (addresses,
conditions, up to 50 images: kubelet ``--node-status-max-images``), so the labels Strata
writes get a small share of the 1.5 MiB: ``MAX_LABELS`` labels and ``MAX_LABEL_BYTES``
bytes of keys and values, about 64 bytes a label (``node-role.kubernetes.io/storage``,
``topology.kubernetes.io/zone``). Strata adds three of its own to each node's plan
(``topology.kubernetes.io/region`` and ``/zone``, ``strata.dev/rack``).

Each level is checked as written, before anything is expanded: a fault is one error at
the ``labels`` of the level that takes a node past a limit (a generated entry's nodes share
their labels), and the levels below it are not checked again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.settings import NodeSettings
from strata.topology.spec import TopologySpec

__all__ = ["MAX_LABELS", "MAX_LABEL_BYTES", "check_label_limits"]

MAX_LABELS = 64
"""Labels a node may carry, its own and those it inherits."""
MAX_LABEL_BYTES = 4096
"""Bytes (UTF-8) of the keys and values of a node's labels, together."""

_HINT = (
    "Kubernetes keeps a Node in one etcd value of at most 1.5 MiB; keep labels for "
    "scheduling and selection, and move descriptive data to annotations or a ConfigMap"
)


@dataclass(frozen=True, slots=True)
class _Labels:
    """The labels a node at some level carries: each key's size with its value, in bytes."""

    sizes: Mapping[str, int]
    total: int  # bytes of every key and value
    over: bool = False  # past a limit, reported where it went past


_NONE = _Labels(MappingProxyType({}), 0)


def check_label_limits(spec: TopologySpec, diags: Diagnostics) -> None:
    """One located error where a node's labels first go past ``MAX_LABELS`` or
    ``MAX_LABEL_BYTES``."""
    top = _level(_NONE, spec.defaults, ("defaults",), diags)
    for ri, region in enumerate(spec.regions):
        rpath: Path = ("regions", ri)
        in_region = _level(top, region.defaults, (*rpath, "defaults"), diags)
        for zi, zone in enumerate(region.zones):
            zpath: Path = (*rpath, "zones", zi)
            in_zone = _level(in_region, zone.defaults, (*zpath, "defaults"), diags)
            for ki, rack in enumerate(zone.racks):
                kpath: Path = (*zpath, "racks", ki)
                in_rack = _level(in_zone, rack.defaults, (*kpath, "defaults"), diags)
                for ni, node in enumerate(rack.nodes):
                    _level(in_rack, node, (*kpath, "nodes", ni), diags, keep=False)


def _level(
    parent: _Labels,
    settings: NodeSettings | None,
    path: Path,
    diags: Diagnostics,
    *,
    keep: bool = True,
) -> _Labels:
    """The labels below ``settings``; reports at ``path`` when they go past a limit there.

    ``keep``: build the merged labels for levels below (a node has none). Costs the labels
    written here, not those inherited."""
    own = settings.labels if settings is not None else None
    if not own or parent.over:
        return parent
    total = parent.total
    added = 0
    for key, value in own.items():
        size = len(key.encode()) + len(value.encode())
        before = parent.sizes.get(key)
        total += size - (before or 0)
        added += before is None
    count = len(parent.sizes) + added
    where = (*path, "labels")
    inherited = f" ({len(parent.sizes):,} of them inherited)" if parent.sizes else ""
    if count > MAX_LABELS:
        diags.error(
            where,
            f"a node here carries {count:,} labels{inherited}; at most {MAX_LABELS} are allowed",
            _HINT,
            key=True,
        )
        return _Labels(parent.sizes, total, over=True)
    if total > MAX_LABEL_BYTES:
        diags.error(
            where,
            f"the labels of a node here hold {total:,} bytes of keys and values{inherited}; "
            f"at most {MAX_LABEL_BYTES:,} are allowed",
            _HINT,
            key=True,
        )
        return _Labels(parent.sizes, total, over=True)
    if not keep:
        return parent
    sizes = dict(parent.sizes)
    sizes.update((k, len(k.encode()) + len(v.encode())) for k, v in own.items())
    return _Labels(MappingProxyType(sizes), total)
