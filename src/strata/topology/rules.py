"""Rules that need more than one field: references, unique names, networks and layers.

Settings are checked where they are written (a ``defaults`` block or a node),
once, so a mistake inherited by a thousand nodes is one finding at its line.
Checks across resolved nodes live in ``node_rules``; the files the topology
names are checked in ``file_rules``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network

from strata.topology.boot_rules import check_boot
from strata.topology.diagnostics import Diagnostics, Path, did_you_mean
from strata.topology.kube_rules import check_kube
from strata.topology.model import Topology
from strata.topology.node_rules import LeftOut, check_nodes
from strata.topology.os_rules import check_os
from strata.topology.podnet_rules import check_pod_network
from strata.topology.settings import NodeSettings
from strata.topology.spec import TopologySpec
from strata.topology.written import written_settings

__all__ = ["LeftOut", "check_rules"]

# Public key types OpenSSH's sshd accepts (sshd(8), "AUTHORIZED_KEYS FILE FORMAT").
_SSH_KEY = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|"
    r"sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+=*( .*)?$"
)
# Kubernetes label syntax (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue).
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def check_rules(
    spec: TopologySpec,
    topology: Topology,
    diags: Diagnostics,
    *,
    left_out: LeftOut | None = None,
) -> None:
    """``left_out``: what the loader dropped after schema errors (see loader)."""
    left_out = left_out or LeftOut()
    _unique_names(spec, topology, diags)
    for key, value in spec.metadata.labels.items():
        _label(diags, ("metadata", "labels", key), key, value)
    for path, settings in written_settings(spec):
        _settings(spec, path, settings, diags, left_out)
    _networks(spec, diags, left_out)
    _layers(spec, diags, left_out)
    check_nodes(topology, diags, left_out)
    check_boot(spec, topology, diags)
    check_os(spec, topology, diags)
    check_kube(spec, diags)
    check_pod_network(spec, topology, diags)


def _unique(diags: Diagnostics, what: str, entries: Iterable[tuple[str, Path]]) -> None:
    first: dict[str, Path] = {}
    for name, path in entries:
        if name in first:
            line, _ = diags.positions.locate(diags.remap(first[name]))
            diags.error(path, f"{what} '{name}' is already defined (line {line})")
        else:
            first[name] = path


def _unique_names(spec: TopologySpec, topology: Topology, diags: Diagnostics) -> None:
    _unique(
        diags, "network", ((n.name, ("networks", i, "name")) for i, n in enumerate(spec.networks))
    )
    _unique(diags, "layer", ((x.name, ("layers", i, "name")) for i, x in enumerate(spec.layers)))
    _unique(
        diags,
        "credentials",
        ((c.name, ("credentials", i, "name")) for i, c in enumerate(spec.credentials)),
    )
    _unique(diags, "region", ((r.name, ("regions", i, "name")) for i, r in enumerate(spec.regions)))
    for ri, region in enumerate(spec.regions):
        _unique(
            diags,
            "zone",
            ((z.name, ("regions", ri, "zones", i, "name")) for i, z in enumerate(region.zones)),
        )
    by_zone: dict[tuple[str, str], list[tuple[str, Path]]] = {}
    for rack in topology.racks:
        by_zone.setdefault((rack.region, rack.zone), []).append((rack.name, (*rack.source, "name")))
        _unique(
            diags,
            f"switch (rack {rack.name})",
            ((s.name, (*rack.source, "switches", i, "name")) for i, s in enumerate(rack.switches)),
        )
    for entries in by_zone.values():
        _unique(diags, "rack", entries)
    _unique(diags, "node", ((n.name, (*n.source, "name")) for n in topology.nodes))


def _settings(
    spec: TopologySpec,
    path: Path,
    s: NodeSettings,
    diags: Diagnostics,
    left_out: LeftOut,
) -> None:
    layers = [x.name for x in spec.layers]
    if s.layer is not None and s.layer not in layers and s.layer not in left_out.layers:
        diags.error(
            (*path, "layer"),
            f"unknown layer '{s.layer}'",
            did_you_mean(s.layer, layers) or f"layers: {', '.join(layers)}",
        )
    credentials = [c.name for c in spec.credentials]
    fallback = getattr(s.bmc, "fallback", None)  # a node's bmc (NodeBMC) may have one
    refs = (
        (s.bmc.credentials if s.bmc is not None else None, (*path, "bmc", "credentials")),
        (fallback.credentials if fallback else None, (*path, "bmc", "fallback", "credentials")),
    )
    for ref, where in refs:
        if ref is not None and ref not in credentials and ref not in left_out.credentials:
            diags.error(
                where,
                f"unknown credentials '{ref}'",
                did_you_mean(ref, credentials) or "add an entry under credentials",
            )
    for i, key in enumerate(s.ssh_keys or ()):
        if "PRIVATE KEY" in key:
            diags.error(
                (*path, "sshKeys", i),
                "this is a private key; never put one in topology.yaml",
                "use the .pub file's contents",
            )
        elif not _SSH_KEY.match(key.strip()):
            diags.error(
                (*path, "sshKeys", i),
                "not an SSH public key",
                "paste one line of a .pub file: ssh-ed25519 AAAA… user@host",
            )
    for key, value in (s.labels or {}).items():
        _label(diags, (*path, "labels", key), key, value)


def _label(diags: Diagnostics, path: Path, key: str, value: str) -> None:
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.match(name) or (prefix and not _LABEL_PREFIX.match(prefix)):
        diags.error(
            path,
            f"'{key}' is not a Kubernetes label key",
            "[prefix/]name, name up to 63 of [A-Za-z0-9-_.]",
        )
    if not _LABEL_VALUE.match(value):
        diags.error(
            path,
            f"'{value}' is not a Kubernetes label value",
            "up to 63 of [A-Za-z0-9-_.], starting and ending alphanumeric",
        )


def _networks(spec: TopologySpec, diags: Diagnostics, left_out: LeftOut) -> None:
    purposes = {n.purpose for n in spec.networks}
    for needed in ("bmc", "provisioning"):
        if needed not in purposes and not left_out.networks:
            diags.error(
                ("networks",),
                f"no network with purpose '{needed}'",
                f"add one: {{name: …, purpose: {needed}, cidr: …}}",
            )
    for i, net in enumerate(spec.networks):
        path: Path = ("networks", i)
        if net.gateway is not None and net.gateway not in net.cidr:
            diags.error((*path, "gateway"), f"gateway {net.gateway} is outside {net.cidr}")
        if net.dhcp_range is not None:
            start, end = net.dhcp_range.start, net.dhcp_range.end
            for which, ip in (("start", start), ("end", end)):
                if ip not in net.cidr:
                    diags.error((*path, "dhcpRange", which), f"{ip} is outside {net.cidr}")
            if start.version == end.version and int(start) > int(end):
                diags.error(
                    (*path, "dhcpRange"), f"the range starts ({start}) after it ends ({end})"
                )


def _layers(spec: TopologySpec, diags: Diagnostics, left_out: LeftOut) -> None:
    names = [x.name for x in spec.layers]
    if not spec.layers:
        diags.error(("layers",), "no layers: declare at least the management cluster")
    pivots = [i for i, x in enumerate(spec.layers) if x.pivot]
    for i in pivots[1:]:
        diags.error(("layers", i, "pivot"), "only one layer can take over management (pivot: true)")
    for i, layer in enumerate(spec.layers):
        path: Path = ("layers", i)
        by = layer.provisioned_by
        if i == 0 and by is not None:
            diags.error(
                (*path, "provisionedBy"),
                "the first layer is provisioned by the seed; remove provisionedBy",
            )
        elif by is not None and by not in names[:i] and by not in left_out.layers:
            diags.error(
                (*path, "provisionedBy"),
                f"'{by}' is not an earlier layer",
                "a layer is provisioned by one declared before it",
            )
        _endpoint(spec, path, i, diags, left_out)
        ranges = [(n.name, n.cidr) for n in spec.networks]
        ranges.append(("serviceCIDR", layer.service_cidr))
        for other, cidr in ranges:
            if _overlaps(layer.pod_cidr, cidr):
                diags.error((*path, "podCIDR"), f"{layer.pod_cidr} overlaps {other} ({cidr})")
        for net in spec.networks:
            if _overlaps(layer.service_cidr, net.cidr):
                diags.error(
                    (*path, "serviceCIDR"), f"{layer.service_cidr} overlaps {net.name} ({net.cidr})"
                )


def _endpoint(
    spec: TopologySpec, path: Path, i: int, diags: Diagnostics, left_out: LeftOut
) -> None:
    endpoint = spec.layers[i].endpoint
    networks = {n.name: n for n in spec.networks}
    if left_out.networks and endpoint.network in left_out.networks | {None}:
        return  # its network was left out
    if endpoint.network is not None:
        net = networks.get(endpoint.network)
        if net is None:
            diags.error(
                (*path, "endpoint", "network"),
                f"unknown network '{endpoint.network}'",
                did_you_mean(endpoint.network, networks),
            )
        elif endpoint.vip not in net.cidr:
            diags.error(
                (*path, "endpoint", "vip"), f"VIP {endpoint.vip} is outside {net.name} ({net.cidr})"
            )
    elif not any(endpoint.vip in n.cidr for n in spec.networks):
        diags.error((*path, "endpoint", "vip"), f"VIP {endpoint.vip} is in no declared network")


def _overlaps(a: IPv4Network | IPv6Network, b: IPv4Network | IPv6Network) -> bool:
    return a.version == b.version and a.overlaps(b)
