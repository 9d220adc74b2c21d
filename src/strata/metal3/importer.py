"""``strata import metal3``: BareMetalHosts (and their credential Secrets, and the Cluster
API objects ``strata export metal3`` writes) as a topology.yaml.

Each host becomes a node: ``spec.bmc`` -> ``bmc`` (address, ``credentials`` named after
``credentialsName``, ``insecure`` from ``disableCertificateVerification``),
``bootMACAddress`` -> ``bootMAC``, ``bootMode`` -> ``boot.firmware``,
``rootDeviceHints`` -> ``rootDeviceHints`` (Ironic's names, which both share). Racks,
zones and regions come from the labels an export writes (strata.metal3.hosts), layers
and roles too; a layer's version, VIP and CIDRs from its Cluster, Metal3Cluster and
KubeadmControlPlane when given, else placeholders the file says to replace. Passwords
are never written: each credentials entry names an environment variable after its
Secret. What Metal3 says that a topology cannot is a comment and a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from strata.metal3.hosts import LAYER_LABEL, RACK_LABEL, REGION_LABEL, ROLE_LABEL, ZONE_LABEL
from strata.metal3.layout import Layout, render
from strata.metal3.reading import Host, Inputs, read_inputs
from strata.topology.addresses import AddressError, parse_bmc_address
from strata.topology.bmc_schemes import REFUSED_SCHEMES, SCHEMES, VIRTUAL_MEDIA, split_scheme

__all__ = ["Imported", "import_hosts"]

HINTS = (
    "deviceName",
    "hctl",
    "model",
    "vendor",
    "serialNumber",
    "wwn",
    "minSizeGigabytes",
    "rotational",
)
FIRMWARE = {"UEFI": "uefi", "UEFISecureBoot": "uefi", "legacy": "bios"}
DEFAULT_LAYER = "cluster"


@dataclass
class Imported:
    text: str  # the topology.yaml
    hosts: int
    notes: list[str] = field(default_factory=list)


def import_hosts(files: Iterable[tuple[str, str]], *, name: str = "imported") -> Imported:
    """``files``: (file name, YAML text) pairs. Raises ``ImportError_`` (strata.metal3.
    reading) located at ``file:line:column`` for input that is not BareMetalHosts."""
    inputs = read_inputs(files)
    layout = Layout(name=name)
    notes: list[str] = []
    for host in inputs.hosts:
        layout.add_node(_where(host), _node(host, inputs, layout, notes))
    _roles(layout, notes)
    for layer in layout.layer_names():
        layout.layers[layer] = _layer(layer, inputs, layout, notes)
    _place_vips(layout)
    layout.bmc_hosts = [h for h in (_bmc_ip(host) for host in inputs.hosts) if h is not None]
    return Imported(render(layout), len(inputs.hosts), notes)


def _where(host: Host) -> tuple[str, str, str]:
    region = host.labels.get(REGION_LABEL, "imported")
    zone = host.labels.get(ZONE_LABEL, "default")
    zone = zone.removeprefix(f"{region}-") or "default"
    return region, zone, host.labels.get(RACK_LABEL, "default")


def _node(host: Host, inputs: Inputs, layout: Layout, notes: list[str]) -> dict[str, Any]:
    spec, bmc_spec = host.spec, host.spec["bmc"]
    comments: list[str] = []
    address = _address(host.name, str(bmc_spec["address"]), comments, notes)
    bmc: dict[str, Any] = {"address": address}
    secret = bmc_spec.get("credentialsName")
    if isinstance(secret, str) and secret:
        bmc["credentials"] = layout.credential(secret, inputs.usernames.get(secret), notes)
    if bmc_spec.get("disableCertificateVerification") is True:
        bmc["insecure"] = True
    node: dict[str, Any] = {"name": host.name}
    node["layer"] = host.labels.get(LAYER_LABEL, DEFAULT_LAYER)
    if host.labels.get(ROLE_LABEL) == "control-plane":
        node["role"] = "control-plane"
    node["bmc"] = bmc
    if isinstance(spec.get("bootMACAddress"), str):
        node["bootMAC"] = spec["bootMACAddress"].lower()
    mode = spec.get("bootMode")
    if mode == "legacy":
        node["boot"] = {"firmware": "bios"}
    elif mode == "UEFISecureBoot":
        comments.append(
            "Metal3 asked UEFISecureBoot: Strata boots UEFI; Secure Boot is the firmware's"
        )
        notes.append(
            f"{host.name}: bootMode UEFISecureBoot is read as uefi (Strata sets no Secure Boot)"
        )
    hints = _hints(host, notes)
    if hints:
        node["rootDeviceHints"] = hints
    if spec.get("externallyProvisioned") is True:
        comments.append(
            "externallyProvisioned in Metal3: `strata apply` finds it running; `strata adopt` it"
        )
    if spec.get("online") is False:
        notes.append(
            f"{host.name}: online: false is not kept (Strata powers a server on to install it)"
        )
    node["#"] = comments
    return node


def _address(host: str, address: str, comments: list[str], notes: list[str]) -> str:
    """The address as written, but for schemes Strata does not take yet or at all: a
    virtual-media scheme becomes its twin that boots with iPXE (virtual-media boot is
    refused at validate until Strata builds per-node install media, docs/bmc.md), and
    ``libvirt://`` becomes ``ipmi://`` (what it is)."""
    scheme, rest = split_scheme(address)
    if scheme in SCHEMES and SCHEMES[scheme].boot == VIRTUAL_MEDIA:
        twin = f"{SCHEMES[scheme].network_twin}://{rest}"
        comments.append(
            f"Metal3: {address} (virtual media); Strata boots it with iPXE until it has virtual-media boot"
        )
        notes.append(
            f"{host}: {scheme}:// boots through virtual media, which Strata refuses at validate "
            f"until it builds per-node install media (docs/bmc.md): written as {twin}, booting with iPXE"
        )
        return twin
    if scheme in REFUSED_SCHEMES:
        instead = f"{REFUSED_SCHEMES[scheme][1]}://{rest}"
        comments.append(f"Metal3: {address}")
        notes.append(f"{host}: {REFUSED_SCHEMES[scheme][0]}: written as {instead}")
        return instead
    return address


def _hints(host: Host, notes: list[str]) -> dict[str, Any]:
    written = host.spec.get("rootDeviceHints") or {}
    hints = {k: v for k, v in written.items() if k in HINTS and v not in (None, "")}
    if hints.get("minSizeGigabytes") == 0:
        del hints["minSizeGigabytes"]  # Metal3's "no minimum"; Strata's hint is >= 1
    dropped = sorted(set(written) - set(HINTS))
    if dropped:
        notes.append(
            f"{host.name}: rootDeviceHints {', '.join(dropped)} have no topology field; left out"
        )
    return hints


def _roles(layout: Layout, notes: list[str]) -> None:
    """A layer needs a control-plane node: with no host labelled so, its first host."""
    for layer in layout.layer_names():
        members = [n for n in layout.nodes() if n["layer"] == layer]
        if not any(n.get("role") == "control-plane" for n in members):
            first = members[0]
            first["role"] = "control-plane"
            first["#"] = [
                *first["#"],
                "no host was labelled control-plane: choose the control plane",
            ]
            notes.append(
                f"layer {layer}: no host labelled {ROLE_LABEL}=control-plane; "
                f"{first['name']} is written as the control plane: check it"
            )


def _layer(layer: str, inputs: Inputs, layout: Layout, notes: list[str]) -> dict[str, Any]:
    """From the layer's Cluster, Metal3Cluster and KubeadmControlPlane when all are given."""
    cluster = inputs.clusters.get("Cluster", {}).get(layer)
    metal3 = inputs.clusters.get("Metal3Cluster", {}).get(layer)
    control = inputs.clusters.get("KubeadmControlPlane", {}).get(layer)
    index = len(layout.layers)
    if cluster and metal3 and control:
        try:
            network = cluster["spec"]["clusterNetwork"]
            endpoint = metal3["spec"]["controlPlaneEndpoint"]
            return {
                "name": layer,
                "version": str(control["spec"]["version"]).removeprefix("v"),
                "vip": ip_address(endpoint["host"]),
                "port": int(endpoint.get("port", 6443)),
                "podCIDR": network["pods"]["cidrBlocks"][0],
                "serviceCIDR": network["services"]["cidrBlocks"][0],
                "placeholder": False,
            }
        except (KeyError, IndexError, TypeError, ValueError):
            notes.append(
                f"layer {layer}: its Cluster API objects are incomplete; placeholders written"
            )
    else:
        notes.append(
            f"layer {layer}: no Cluster, Metal3Cluster and KubeadmControlPlane given; "
            "its version, VIP and CIDRs are placeholders to replace"
        )
    return {
        "name": layer,
        "version": "1.31.2",
        "vip": ip_address(f"198.51.100.{10 + index}"),
        "port": 6443,
        "podCIDR": f"10.{100 + index}.0.0/16",
        "serviceCIDR": f"10.{200 + index}.0.0/16",
        "placeholder": True,
    }


def _place_vips(layout: Layout) -> None:
    """Placeholder VIPs go beside the given ones (the top of the first one's /24), so
    that one provisioning network holds them all."""
    given = [x["vip"] for x in layout.layers.values() if not x["placeholder"]]
    if not given or given[0].version != 4:
        return
    network = ip_network(f"{given[0]}/24", strict=False)
    free = (a for a in reversed(list(network.hosts())) if a not in given)
    for layer in layout.layers.values():
        if layer["placeholder"]:
            layer["vip"] = next(free)


def _bmc_ip(host: Host) -> IPv4Address | IPv6Address | None:
    try:
        parsed = parse_bmc_address(str(host.spec["bmc"]["address"]), None, None, False)
    except AddressError:
        return None
    try:
        return ip_address(parsed.host.strip("[]").split("%")[0])
    except ValueError:
        return None


def covering(addresses: list[IPv4Address | IPv6Address]) -> str | None:
    """The smallest network (at most /24, /64) holding every address of the first's
    family; None for none."""
    if not addresses:
        return None
    first = addresses[0]
    same = [a for a in addresses if a.version == first.version]
    prefix = 24 if first.version == 4 else 64
    while prefix > 0:
        network = ip_network(f"{first}/{prefix}", strict=False)
        if all(a in network for a in same):
            return str(network)
        prefix -= 1
    return str(ip_network(f"{first}/0", strict=False))


def env_name(secret: str) -> str:
    """The environment variable holding a Secret's password: ``bmc-rack1`` ->
    ``BMC_RACK1_PASSWORD``."""
    return re.sub(r"[^A-Z0-9]+", "_", secret.upper()).strip("_") + "_PASSWORD"
