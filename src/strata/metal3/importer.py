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
from strata.metal3.located import check_imported
from strata.metal3.matching import cluster_parts, served
from strata.metal3.reading import Host, Inputs, read_inputs
from strata.metal3.shapes import ImportError_
from strata.metal3.units import metal3_to_gb
from strata.topology.addresses import AddressError, parse_bmc_address
from strata.topology.bmc_schemes import (
    REFUSED_SCHEMES,
    SCHEMES,
    UEFI_HTTP,
    VIRTUAL_MEDIA,
    split_scheme,
)
from strata.topology.root_device import HINTS  # the hints topology.yaml knows

__all__ = ["Imported", "import_hosts"]

DEFAULT_LAYER = "cluster"
SHAPES = {str: "a string", int: "a whole number"}
CLUSTER_SOURCES = ("Cluster", "Metal3Cluster", "KubeadmControlPlane")
# What a layer takes from its Cluster API objects: kind, path, shape.
LAYER_FIELDS: dict[str, tuple[str, tuple[str | int, ...], type]] = {
    "version": ("KubeadmControlPlane", ("spec", "version"), str),
    "vip": ("Metal3Cluster", ("spec", "controlPlaneEndpoint", "host"), str),
    "port": ("Metal3Cluster", ("spec", "controlPlaneEndpoint", "port"), int),
    "pods": ("Cluster", ("spec", "clusterNetwork", "pods", "cidrBlocks", 0), str),
    "services": ("Cluster", ("spec", "clusterNetwork", "services", "cidrBlocks", 0), str),
}
# Metal3 schemes of protocols Strata does not speak, and the one to try instead: the
# vendor's Redfish service, which these BMCs (iDRAC 9, iLO 5, iRMC S5, iBMC) also run.
NEAREST = {
    "idrac": "idrac-redfish",
    "ilo4": "redfish",
    "ilo5": "ilo5-redfish",
    "irmc": "redfish",
    "ibmc": "redfish",
}


@dataclass
class Imported:
    text: str  # the topology.yaml
    hosts: int
    notes: list[str] = field(default_factory=list)


def import_hosts(files: Iterable[tuple[str, str]], *, name: str = "imported") -> Imported:
    """``files``: (file name, YAML text) pairs. Raises ``ImportError_`` (strata.metal3.
    shapes) located at ``file:line:column`` for input that is not BareMetalHosts, and
    for every finding ``strata validate`` has about the topology built (located at the
    input field it came from): nothing that does not validate is returned."""
    inputs = read_inputs(files)
    layout = Layout(name=name)
    notes: list[str] = []
    problems: list[str] = []
    for host in inputs.hosts:
        layout.add_node(_where(host), _node(host, inputs, layout, notes, problems))
    _roles(layout, notes)
    for layer in layout.layer_names():
        layout.layers[layer] = _layer(layer, inputs, layout, notes, problems)
    _place_vips(layout)
    layout.bmc_hosts = [h for h in (_bmc_ip(host) for host in inputs.hosts) if h is not None]
    text = render(layout)
    if not problems:
        problems = check_imported(text, layout, inputs)
    if problems:
        error = ImportError_("\n".join(problems))
        error.hint = "nothing was written; correct the input (or the topology, after import)"
        raise error
    return Imported(text, len(inputs.hosts), notes)


def _where(host: Host) -> tuple[str, str, str]:
    region = host.labels.get(REGION_LABEL, "imported")
    zone = host.labels.get(ZONE_LABEL, "default")
    zone = zone.removeprefix(f"{region}-") or "default"
    return region, zone, host.labels.get(RACK_LABEL, "default")


def _node(
    host: Host, inputs: Inputs, layout: Layout, notes: list[str], problems: list[str]
) -> dict[str, Any]:
    spec, bmc_spec = host.spec, host.spec["bmc"]
    comments: list[str] = []
    boot: dict[str, str] = {}
    address = _address(host, comments, notes, problems, boot)
    bmc: dict[str, Any] = {"address": address}
    secret = bmc_spec.get("credentialsName")
    if secret:
        bmc["credentials"] = _credential(host, secret, inputs, layout, notes, problems)
    else:
        problems.append(
            f"{host.source.at(('spec', 'bmc'))}: BareMetalHost {host.name} has no "
            "spec.bmc.credentialsName: Strata (and Metal3) need the BMC's credentials Secret"
        )
    if bmc_spec.get("disableCertificateVerification") is True:
        bmc["insecure"] = True
    node: dict[str, Any] = {"name": host.name, "@": host}
    layer, role = host.labels.get(LAYER_LABEL), host.labels.get(ROLE_LABEL)
    if layer is None and (found := served(host, inputs)) is not None:
        layer, role = found  # the cluster whose machine template selects the host
        comments.append(f"{role} of cluster {layer}: its Metal3MachineTemplate selects the host")
    node["layer"] = layer or DEFAULT_LAYER
    if role == "control-plane":
        node["role"] = "control-plane"
    node["bmc"] = bmc
    node["bootMAC"] = str(spec["bootMACAddress"]).lower()
    mode = spec.get("bootMode")
    if mode == "legacy":
        boot["firmware"] = "bios"
    if boot:
        node["boot"] = boot
    if mode == "UEFISecureBoot":
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


def _credential(
    host: Host,
    secret: str,
    inputs: Inputs,
    layout: Layout,
    notes: list[str],
    problems: list[str],
) -> str:
    """The credentials entry of the host's Secret; two Secrets that would make one
    entry (``bmc_a``, ``bmc-a``) are an error at the second."""
    entry = layout.credential(secret, inputs.usernames.get(secret), notes)
    other = next(
        (s for s, (e, _) in layout.credentials.items() if e == entry and s != secret), None
    )
    if other is not None:
        problems.append(
            f"{host.source.at(('spec', 'bmc', 'credentialsName'))}: Secrets {other} and "
            f"{secret} would both be credentials entry {entry} (a DNS label): rename one"
        )
    return entry


def _address(
    host: Host, comments: list[str], notes: list[str], problems: list[str], boot: dict[str, str]
) -> str:
    """The address as written, but for schemes Strata does not take yet or at all:
    ``libvirt://`` becomes ``ipmi://`` (what it is). A virtual-media scheme sets the
    node's ``boot.method: virtualmedia`` (Strata's image boots BIOS and UEFI machines,
    docs/boot.md), ``redfish-uefihttp`` its ``boot.method: http``. A scheme Strata does
    not know is an error."""
    address = str(host.spec["bmc"]["address"]).replace("%25", "%")  # RFC 6874's zone
    scheme, rest = split_scheme(address)
    if scheme in SCHEMES and SCHEMES[scheme].boot == UEFI_HTTP:
        boot["method"] = "http"
        return address
    if scheme in SCHEMES and SCHEMES[scheme].boot == VIRTUAL_MEDIA:
        boot["method"] = VIRTUAL_MEDIA  # as the scheme says, over the topology's default
        return address
    if scheme is not None and scheme not in SCHEMES and scheme not in REFUSED_SCHEMES:
        family = scheme.split("+")[0]
        instead = (
            f" (its Redfish service may answer as {NEAREST[family]}://)"
            if family in NEAREST
            else ""
        )
        problems.append(
            f"{host.source.at(('spec', 'bmc', 'address'))}: BareMetalHost {host.name}: Strata "
            f"does not speak {scheme}://{instead}; it takes {', '.join(sorted({s.split('+')[0] for s in SCHEMES} | set(REFUSED_SCHEMES)))}"
        )
        return address
    if scheme in REFUSED_SCHEMES:
        instead = f"{REFUSED_SCHEMES[scheme][1]}://{rest}"
        comments.append(f"Metal3: {address}")
        notes.append(f"{host.name}: {REFUSED_SCHEMES[scheme][0]}: written as {instead}")
        return instead
    return address


def _hints(host: Host, notes: list[str]) -> dict[str, Any]:
    written = host.spec.get("rootDeviceHints") or {}
    hints = {k: v for k, v in written.items() if k in HINTS and v not in (None, "")}
    if hints.get("minSizeGigabytes") == 0:
        del hints["minSizeGigabytes"]  # Metal3's "no minimum"; Strata's hint is >= 1
    elif "minSizeGigabytes" in hints:  # Metal3's GiB as Strata's GB (strata.metal3.units)
        hints["minSizeGigabytes"] = metal3_to_gb(hints["minSizeGigabytes"])
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


def _layer(
    layer: str, inputs: Inputs, layout: Layout, notes: list[str], problems: list[str]
) -> dict[str, Any]:
    """From the layer's Cluster, Metal3Cluster and KubeadmControlPlane when all are given
    (a value of the wrong shape is an error there, one missing a note)."""
    parts = cluster_parts(layer, inputs)
    objects = {kind: inputs.clusters.get(kind, {}).get(parts[kind]) for kind in CLUSTER_SOURCES}
    index, before = len(layout.layers), len(problems)
    if all(objects.values()):
        values = {}
        for key, (kind, path, shape) in LAYER_FIELDS.items():
            source = objects[kind].source  # type: ignore[union-attr]
            there, value = source.get(path)
            if there and not isinstance(value, shape):
                problems.append(
                    f"{source.at(path)}: {kind} {parts[kind]}: {'.'.join(map(str, path))} is not "
                    f"{SHAPES[shape]}"
                )
            values[key] = value if there else None
        values["port"] = values["port"] if values["port"] is not None else 6443
        missing = [k for k, v in values.items() if v is None]
        try:
            vip = ip_address(values["vip"]) if values["vip"] is not None else None
        except ValueError:
            vip = None
            notes.append(
                f"layer {layer}: Metal3Cluster controlPlaneEndpoint.host {values['vip']} is not an "
                "IP address (Strata's VIP is one); a placeholder VIP is written"
            )
        if not missing and vip is not None and len(problems) == before:
            return {
                "name": layer,
                "version": str(values["version"]).removeprefix("v"),
                "vip": vip,
                "port": values["port"],
                "podCIDR": values["pods"],
                "serviceCIDR": values["services"],
                "placeholder": False,
                "from": objects,
            }
        if missing:
            notes.append(
                f"layer {layer}: its Cluster API objects give no {', '.join(missing)}; "
                "placeholders written"
            )
    else:
        notes.append(
            f"layer {layer}: no Cluster, Metal3Cluster and KubeadmControlPlane named {layer} "
            "given; its version, VIP and CIDRs are placeholders to replace"
        )
    return {
        "name": layer,
        "version": "1.31.2",
        "vip": ip_address(f"198.51.100.{10 + index}"),
        "port": 6443,
        "podCIDR": f"10.{100 + index}.0.0/16",
        "serviceCIDR": f"10.{200 + index}.0.0/16",
        "placeholder": True,
        "from": {},
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
