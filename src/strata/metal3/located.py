"""The imported topology checked as ``strata validate`` checks it, each finding said at
the input field it came from.

The import never writes a topology Strata's own validation (strata.topology.check_text)
refuses. Each finding's path in the built topology (``regions[0].zones[0].racks[0].
nodes[3].bmc.address``) is traced back to the object it was built from — the node's
BareMetalHost, the layer's Cluster API objects, the credentials entry's first host — and
to the field there (``spec.bmc.address``), located ``file:line:column``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from strata.metal3.hosts import LAYER_LABEL, RACK_LABEL, REGION_LABEL, ROLE_LABEL, ZONE_LABEL
from strata.metal3.layout import Layout
from strata.metal3.reading import Host, Inputs, Source
from strata.topology import check_text
from strata.topology.diagnostics import format_path

__all__ = ["check_imported"]

Path = Sequence[str | int]
_TOPOLOGY_LINE = re.compile(r" \(line \d+\)")
LABELS = ("metadata", "labels")
# A node's field -> the BareMetalHost field it came from.
NODE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("metadata", "name"),
    "layer": (*LABELS, LAYER_LABEL),
    "role": (*LABELS, ROLE_LABEL),
    "bootMAC": ("spec", "bootMACAddress"),
    "boot": ("spec", "bootMode"),
    "rootDeviceHints": ("spec", "rootDeviceHints"),
}
BMC_FIELDS = {
    "address": "address",
    "credentials": "credentialsName",
    "insecure": "disableCertificateVerification",
}
PLACE_LABELS = {"regions": REGION_LABEL, "zones": ZONE_LABEL, "racks": RACK_LABEL}
# A layer's field -> the Cluster API object and field it came from.
LAYER_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "distribution": ("KubeadmControlPlane", ("spec", "version")),
    "endpoint": ("Metal3Cluster", ("spec", "controlPlaneEndpoint")),
    "podCIDR": ("Cluster", ("spec", "clusterNetwork", "pods")),
    "serviceCIDR": ("Cluster", ("spec", "clusterNetwork", "services")),
}


def check_imported(text: str, layout: Layout, inputs: Inputs) -> list[str]:
    """Every error ``strata validate`` finds in ``text`` (the topology rendered from
    ``layout``), as ``input-file:line:column: message (topology: path)``; [] when it
    validates."""
    checked = check_text(text, "<imported>")
    paths = [tuple(f.path) for f in checked.errors]
    out: list[str] = []
    for finding in checked.errors:
        path = tuple(finding.path)
        if any(len(p) > len(path) and p[: len(path)] == path for p in paths):
            continue  # a consequence of a finding below it ("no layers": the one left out)
        place = _place(tuple(finding.path), layout, inputs)
        where = format_path(finding.path) or "the document"
        message = _TOPOLOGY_LINE.sub("", finding.message)  # lines of a file not written
        out.append(f"{place}: {message} (topology: {where})")
    return out


def _place(path: Path, layout: Layout, inputs: Inputs) -> str:
    first = inputs.hosts[0]
    if not path:
        return first.place
    head = path[0]
    if head == "regions":
        return _in_regions(path, layout) or first.place
    if head == "layers" and len(path) > 1 and isinstance(path[1], int):
        return _in_layer(path[1:], layout)
    if head == "credentials" and len(path) > 1 and isinstance(path[1], int):
        return _credentials(path[1], layout)
    if head == "networks":
        for layer in layout.layers.values():
            if "Metal3Cluster" in layer["from"]:
                return _at(layer["from"]["Metal3Cluster"].source, LAYER_FIELDS["endpoint"][1])
        return first.source.at(("spec", "bmc", "address"))
    return first.place


def _at(source: Source, path: Path) -> str:
    return source.at(path)


def _in_regions(path: Path, layout: Layout) -> str | None:
    """``regions[i].zones[j].racks[k].nodes[n].field…`` -> the host's field."""
    level: Any = layout.tree
    hosts: list[Host] = []
    for depth, step in enumerate(("regions", "zones", "racks")):
        index = path[depth * 2 + 1] if len(path) > depth * 2 + 1 else None
        if not isinstance(index, int):
            return None
        items = list(level.items())
        if index >= len(items):
            return None
        level = items[index][1]
        hosts = _hosts_under(level)
        rest = path[depth * 2 + 2 :]
        if rest[:1] == ("name",) and hosts:
            return hosts[0].source.at((*LABELS, PLACE_LABELS[step]))
        if rest[:1] != (("zones", "racks", "nodes")[depth],):
            return hosts[0].place if hosts else None
    rest = path[7:]
    if not rest or not isinstance(rest[0], int) or rest[0] >= len(level):
        return hosts[0].place if hosts else None
    return _node_field(level[rest[0]]["@"], rest[1:])


def _hosts_under(level: Any) -> list[Host]:
    if isinstance(level, list):
        return [n["@"] for n in level]
    return [h for sub in level.values() for h in _hosts_under(sub)]


def _node_field(host: Host, rest: Path) -> str:
    if not rest:
        return host.place
    key = rest[0]
    if key == "bmc":
        sub = BMC_FIELDS.get(str(rest[1])) if len(rest) > 1 else None
        return host.source.at(("spec", "bmc", sub) if sub else ("spec", "bmc"))
    if key == "boot" and rest[1:2] == ("method",):
        return host.source.at(("spec", "bmc", "address"))  # the scheme set the method
    if key == "rootDeviceHints":
        return host.source.at(("spec", "rootDeviceHints", *map(str, rest[1:2])))
    if key in NODE_FIELDS:
        return host.source.at(NODE_FIELDS[str(key)])
    return host.place


def _in_layer(rest: Path, layout: Layout) -> str:
    layers = list(layout.layers.values())
    index = rest[0]
    assert isinstance(index, int)
    layer = layers[min(index, len(layers) - 1)]
    members = [n["@"] for n in layout.nodes() if n["layer"] == layer["name"]]
    field = rest[1] if len(rest) > 1 else None
    if isinstance(field, str) and field in LAYER_FIELDS:
        kind, path = LAYER_FIELDS[field]
        if kind in layer["from"]:
            return _at(layer["from"][kind].source, path)
    return members[0].source.at((*LABELS, LAYER_LABEL)) if members else "<input>"


def _credentials(index: int, layout: Layout) -> str:
    secrets = list(layout.credentials)
    if index >= len(secrets):
        return "<input>"
    secret = secrets[index]
    for node in layout.nodes():
        host: Host = node["@"]
        if host.spec["bmc"].get("credentialsName") == secret:
            return host.source.at(("spec", "bmc", "credentialsName"))
    return "<input>"
