"""Preflight: the target's boot service and DHCP reachable from the provisioning network
(docs/pivot.md, "Preflight"). After the move, machines on the topology's provisioning
network fetch their iPXE scripts and Ignition configs from the boot service of the
controller the move starts, and get their addresses from its DHCP; a controller whose
boot service listens where they cannot reach it would leave every machine that boots
next without a boot, only found when one does.

- a controller on this host (``--controller host``, or ``auto`` choosing it): the boot
  endpoint's address — its ``--url``'s, else its ``--listen`` address, else the one
  ``strata.boot.reach.boot_url`` derives for ``0.0.0.0`` — is on an interface of this
  host and inside the provisioning network's CIDR; with ``--dhcp-interface``, that
  interface has an address inside it (dnsmasq answers the range from there). A
  loopback ``--url`` is the person's word that the machines run on this host
  (simulators): said, as the boot service says it, not refused;
- in the cluster (``cluster``, or ``auto`` choosing it): one of the Nodes that can run
  the controller has an ``InternalIP`` inside the provisioning network (its pod runs
  the boot service and DHCP on its Node's network);
- ``none``: nothing is started by the move; not checked.

The provisioning network is the Topology's (FILE's, or the source cluster's Topology
object's): without either it is not known here, and that is said.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from strata.boot.reach import Address, BootURL, NoBootURL, boot_url, local_addresses
from strata.pivot.nodes import on_network, why_none
from strata.store.kube_api import KubeApi, KubeStoreError, Obj
from strata.topology.spec import NetworkSpec

__all__ = ["controller_findings", "host_flag", "provisioning", "reach_findings"]

Finding = tuple[str, str]
Local = dict[str, list[Address]]


def provisioning(spec: dict[str, Any] | None) -> NetworkSpec | None:
    """The provisioning network of a Topology's ``spec`` (None: none, or unreadable)."""
    for network in (spec or {}).get("networks") or []:
        if isinstance(network, dict) and network.get("purpose") == "provisioning":
            try:
                return NetworkSpec.model_validate(network)
            except ValidationError:
                return None
    return None


def controller_findings(
    api: KubeApi,
    namespace: str,
    mode: str,
    host_args: tuple[str, ...],
    network: NetworkSpec | None,
) -> list[Finding]:
    """Whether the target's Nodes can run the controller's pods (``resume.schedulable``:
    Ready, running pods, not cordoned, taints tolerated; none: it runs on this host, a
    block with ``--controller cluster``), then ``reach_findings`` — the Nodes read once."""
    from strata.pivot.resume import schedulable

    try:
        nodes = list(api.items("/api/v1/nodes"))
    except KubeStoreError as failure:
        return _unlisted(str(failure), mode, host_args, network)
    able = schedulable(api, namespace, nodes)
    if able:
        shown = ", ".join(able[:5]) + (" ..." if len(able) > 5 else "")
        text = f"the target can run the controller: {len(able)} of {len(nodes)} Nodes Ready, running pods and schedulable ({shown})"
        found: list[Finding] = [("ok", text)]
    else:
        text = f"the target cannot run the controller ({why_none(api, nodes)})"
        if mode == "cluster":
            found = [("block", text + ": --controller cluster cannot start it (use host or auto)")]
        else:
            found = [
                ("note", text + ": it will run on this host (--controller host; auto chooses it)")
            ]
    return found + reach_findings(nodes, mode, able, host_args, network)


def _unlisted(
    failure: str, mode: str, host_args: tuple[str, ...], network: NetworkSpec | None
) -> list[Finding]:
    """The Nodes unreadable: what needs no Node is checked all the same — a host
    controller's reach; ``auto`` then runs it on this host (``resume.schedulable``
    counts unreadable Nodes as none), so its reach is the host's."""
    text = f"the target's Nodes could not be listed ({failure})"
    if mode == "cluster":
        text += ": whether a Node can run the controller, and reach the provisioning network, is not checked"
    elif mode == "auto":
        text += ": auto runs the controller on this host (--controller host), checked as such"
    found: list[Finding] = [("note", text)]
    if mode in ("host", "auto"):
        found += reach_findings([], "host", [], host_args, network)
    return found


def reach_findings(
    nodes: list[Obj],
    mode: str,
    able: list[str],
    host_args: tuple[str, ...],
    network: NetworkSpec | None,
    local: Local | None = None,
) -> list[Finding]:
    """Findings of the module doc. ``nodes``: the target's; ``mode``:
    ``Options.controller``; ``able``: the names of the Nodes that can run the
    controller's pods (``resume.schedulable``); ``host_args``:
    a host controller's boot flags; ``local``: this host's addresses by interface
    (None: read them, ``boot.reach.local_addresses``)."""
    if mode == "none":
        return []
    if network is None:
        return [
            (
                "note",
                "the provisioning network is not known here (no -f FILE, no Topology object): "
                "whether the controller's boot service is reachable from it is not checked",
            )
        ]
    if mode == "cluster" or (mode == "auto" and able):
        return _in_cluster(nodes, able, network)
    return _on_host(host_args, network, local_addresses() if local is None else local)


def _where(network: NetworkSpec) -> str:
    return f"the provisioning network {network.name} ({network.cidr})"


def _in_cluster(nodes: list[Obj], able: list[str], network: NetworkSpec) -> list[Finding]:
    if not able:
        return []  # said by the Nodes' own finding, a block with --controller cluster
    there = sorted(
        n["metadata"]["name"]
        for n in nodes
        if n["metadata"]["name"] in able and on_network(n, network.cidr)
    )
    if there:
        text = f"the controller can run on a Node in {_where(network)}: {', '.join(there[:5])}"
        return [("ok", text)]
    text = (
        f"no Node that can run the controller ({', '.join(able[:5])}) has an InternalIP in "
        f"{_where(network)}: its boot service and DHCP would not be reachable from there"
    )
    return [("block", text + " (--controller host runs them on this host)")]


def host_flag(args: tuple[str, ...], name: str) -> str | None:
    """The value of ``name`` in ``args`` (the controller's flags: ``--name VALUE``)."""
    return args[args.index(name) + 1] if name in args[:-1] else None


def _on_host(args: tuple[str, ...], network: NetworkSpec, local: Local) -> list[Finding]:
    if "--no-serve" in args:
        return [("note", "--no-serve: the host controller runs no boot service")]
    host, _, port = (host_flag(args, "--listen") or "0.0.0.0:8080").rpartition(":")
    dhcp = host_flag(args, "--dhcp-interface")
    found: list[Finding] = []
    try:
        boot = boot_url(
            host or "0.0.0.0", int(port), network, host_flag(args, "--url"), dhcp, local
        )
    except (NoBootURL, ValueError) as refused:
        found.append(("block", f"the host controller's boot service: {refused}"))
    else:
        found.append(_address(boot, network, local))
    if dhcp is not None:
        found.append(_dhcp(dhcp, network, local))
    return found


def _address(boot: BootURL, network: NetworkSpec, local: Local) -> Finding:
    name = urlsplit(boot.url).hostname or ""
    try:
        address = ip_address(name)
    except ValueError:
        return ("note", f"the boot endpoint {boot.url} is a name: its address is not checked")
    if boot.warning is not None:  # a loopback --url: the person's word
        return ("note", f"the boot endpoint: {boot.warning}")
    interfaces = sorted(i for i, addresses in local.items() if address in addresses)
    if address not in network.cidr:
        text = f"the boot endpoint's address {address} is not in {_where(network)}"
        return ("block", text + ": machines there cannot reach it (--listen, --url)")
    if not interfaces:
        text = f"the boot endpoint's address {address} is on no interface of this host"
        return ("block", f"{text}: machines on {_where(network)} cannot reach it here")
    text = f"the boot endpoint {boot.url} is on this host ({', '.join(interfaces)}) in {_where(network)}"
    return ("ok", text)


def _dhcp(interface: str, network: NetworkSpec, local: Local) -> Finding:
    if interface not in local:
        return ("block", f"DHCP on {interface}: this host has no interface {interface}")
    if not any(a in network.cidr for a in local[interface]):
        text = f"DHCP on {interface}: it has no address in {_where(network)}"
        return ("block", text + ", so it answers no machine there")
    return ("ok", f"DHCP on {interface}, which has an address in {_where(network)}")
