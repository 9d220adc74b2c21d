"""The topology an import builds, and its text: ruamel.yaml with comments saying where
each value came from and what to replace (docs/topology.md's layout)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

__all__ = ["Layout", "render"]

OS_PLACEHOLDER = {"name": "flatcar", "channel": "stable", "version": Quoted("4081.2.0")}
_NOT_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass
class Layout:
    name: str
    tree: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = field(default_factory=dict)
    credentials: dict[str, tuple[str, str | None]] = field(
        default_factory=dict
    )  # Secret -> (entry, user)
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    bmc_hosts: list[IPv4Address | IPv6Address] = field(default_factory=list)

    order: list[str] = field(default_factory=list)  # layers, as the input first names them

    def add_node(self, where: tuple[str, str, str], node: dict[str, Any]) -> None:
        """``node``: the node's fields, ``#`` its comments, ``@`` the Host it came from."""
        region, zone, rack = where
        self.tree.setdefault(region, {}).setdefault(zone, {}).setdefault(rack, []).append(node)
        if node["layer"] not in self.order:
            self.order.append(node["layer"])

    def nodes(self) -> list[dict[str, Any]]:
        return [n for z in self.tree.values() for r in z.values() for ns in r.values() for n in ns]

    def layer_names(self) -> list[str]:
        return list(self.order)

    def credential(self, secret: str, username: str | None, notes: list[str]) -> str:
        """The credentials entry for a Secret: its name a DNS label made of the Secret's."""
        if secret not in self.credentials:
            entry = _NOT_LABEL.sub("-", secret.lower()).strip("-")[:63] or "bmc"
            self.credentials[secret] = (entry, username)
            if username is None:
                notes.append(
                    f"credentials {entry}: Secret {secret} was not given; set its username"
                )
        return self.credentials[secret][0]


def render(layout: Layout) -> str:
    """The topology.yaml text."""
    from strata.metal3.importer import covering, env_name  # one module's helpers

    doc = CommentedMap()
    doc["apiVersion"] = "strata.dev/v1alpha1"
    doc["kind"] = "Topology"
    doc["metadata"] = CommentedMap(name=layout.name)
    doc.yaml_set_start_comment(
        "Imported from Metal3 BareMetalHosts by `strata import metal3` (docs/metal3.md).\n"
        "Check the values marked 'replace', then: strata validate -f THIS-FILE"
    )
    doc["defaults"] = _defaults()
    doc["credentials"] = _credentials(layout, env_name)
    doc["networks"] = _networks(layout, covering)
    doc["layers"] = _layers(layout)
    doc["regions"] = _regions(layout)
    out = io.StringIO()
    writer = YAML(typ="rt", pure=True)
    writer.width = 4096
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.dump(doc, out)
    return out.getvalue()


def _flow(**values: Any) -> CommentedMap:
    out = CommentedMap(values)
    out.fa.set_flow_style()
    return out


def _defaults() -> CommentedMap:
    defaults = CommentedMap()
    defaults["os"] = _flow(**OS_PLACEHOLDER)
    defaults.yaml_add_eol_comment(
        "replace: a BareMetalHost names no OS (Metal3's image is the machine template's)", "os"
    )
    defaults["boot"] = _flow(method="ipxe", firmware="uefi")
    defaults.yaml_add_eol_comment("Metal3's default bootMode is UEFI", "boot")
    return defaults


def _credentials(layout: Layout, env_name: Any) -> CommentedSeq:
    entries = CommentedSeq()
    for secret, (entry, username) in layout.credentials.items():
        item = CommentedMap()
        item["name"] = entry
        item["username"] = username if username is not None else "admin"
        item["password"] = _flow(env=env_name(secret))
        item.yaml_add_eol_comment(f"Secret {secret}'s password, never written here", "password")
        if username is None:
            item.yaml_add_eol_comment(f"replace: Secret {secret} was not given", "username")
        entries.append(item)
    return entries


def _networks(layout: Layout, covering: Any) -> CommentedSeq:
    networks = CommentedSeq()
    bmc = covering(layout.bmc_hosts)
    networks.append(_flow(name="bmc", purpose="bmc", cidr=bmc or "192.0.2.0/24"))
    if bmc is None:
        networks.yaml_add_eol_comment("replace: the BMCs' network", 0)
    vips = [layer["vip"] for layer in layout.layers.values()]
    networks.append(_flow(name="provisioning", purpose="provisioning", cidr=covering(vips)))
    networks.yaml_add_eol_comment("holds the layers' VIPs; replace with the real network", 1)
    return networks


def _layers(layout: Layout) -> CommentedSeq:
    layers = CommentedSeq()
    for layer in layout.layers.values():
        item = CommentedMap()
        item["name"] = layer["name"]
        item["distribution"] = _flow(name="kubeadm", version=Quoted(layer["version"]))
        endpoint = _flow(vip=str(layer["vip"]))
        if layer["port"] != 6443:
            endpoint["port"] = layer["port"]
        item["endpoint"] = endpoint
        item["podCIDR"] = layer["podCIDR"]
        item["serviceCIDR"] = layer["serviceCIDR"]
        item["podNetwork"] = "none"
        item.yaml_add_eol_comment("a Metal3 cluster brings its own CNI plugin", "podNetwork")
        if layer["placeholder"]:
            item.yaml_add_eol_comment("replace: version, VIP and CIDRs are placeholders", "name")
        layers.append(item)
    return layers


def _regions(layout: Layout) -> CommentedSeq:
    regions = CommentedSeq()
    for region, zones in layout.tree.items():
        zone_items = CommentedSeq()
        for zone, racks in zones.items():
            rack_items = CommentedSeq()
            for rack, nodes in racks.items():
                rack_items.append(CommentedMap(name=rack, nodes=_nodes(nodes)))
            zone_items.append(CommentedMap(name=zone, racks=rack_items))
        regions.append(CommentedMap(name=region, zones=zone_items))
    return regions


def _nodes(nodes: list[dict[str, Any]]) -> CommentedSeq:
    items = CommentedSeq()
    for node in nodes:
        item = CommentedMap()
        for key, value in node.items():
            if key not in ("#", "@"):
                item[key] = _flow(**value) if isinstance(value, dict) else value
        if "bootMAC" in item:  # YAML 1.1 reads 52:54:… as a number in base 60
            item["bootMAC"] = Quoted(item["bootMAC"])
        if node["#"]:
            item.yaml_set_start_comment("\n".join(node["#"]), indent=14)
        items.append(item)
    return items
