"""Topology -> Plan: a NodePlan per server and a ClusterPlan per layer. Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

from strata.plan.diff import diff
from strata.plan.model import (
    BMCAccess,
    ClusterPlan,
    DiskPlan,
    InterfacePlan,
    NodePlan,
    Plan,
    RackPlan,
)
from strata.topology import BMC, NIC, Disk, Node, Rack, Topology
from strata.topology.spec import NetworkSpec

__all__ = ["build_plan", "node_plan"]

# Well-known labels (kubernetes.io/docs/reference/labels-annotations-taints/):
# topology.kubernetes.io/region and /zone; the rack is Strata's own.
REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
RACK_LABEL = "strata.dev/rack"


def build_plan(
    topology: Topology,
    recorded: Mapping[str, NodePlan] | None = None,
    found_running: Collection[str] = (),
) -> Plan:
    """``recorded``: the plans the store holds from earlier applies (none yet: all create);
    ``found_running``: nodes waiting for a person to adopt or reinstall them."""
    nodes = tuple(node_plan(n, topology.networks) for n in topology.nodes)
    clusters = tuple(_cluster(topology, i) for i in range(len(topology.layers)))
    changes = diff(nodes, recorded or {}, found_running)
    racks = tuple(_rack(r) for r in topology.racks)
    return Plan(topology.name, nodes, clusters, changes, racks)


def node_plan(node: Node, networks: Mapping[str, NetworkSpec]) -> NodePlan:
    labels = {
        **node.labels,
        REGION_LABEL: node.region,
        ZONE_LABEL: f"{node.region}-{node.zone}",
        RACK_LABEL: node.rack,
    }
    hints = node.root_device_hints
    return NodePlan(
        name=node.name,
        region=node.region,
        zone=node.zone,
        rack=node.rack,
        layer=node.layer,
        role=node.role,
        bmc_address=node.bmc.address,
        bmc_credentials=node.bmc.credentials,
        bmc_insecure=node.bmc.insecure,
        bmc_ca_bundle=node.bmc.ca_bundle,
        boot_mac=node.boot_mac,
        boot_method=node.boot.method,
        firmware=node.boot.firmware,
        os_name=node.os.name,
        os_channel=node.os.channel,
        os_version=node.os.version,
        install_disk=node.install_disk,
        root_device_hints=MappingProxyType(hints.model_dump(by_alias=True, exclude_none=True))
        if hints
        else None,
        interfaces=tuple(_interface(nic, networks[nic.network]) for nic in node.nics),
        disks=tuple(_disk(d) for d in node.disks),
        ssh_keys=node.ssh_keys,
        ignition_fragments=tuple(f.name for f in node.ignition),
        labels=MappingProxyType(labels),
        boot_fallbacks=node.boot.fallbacks,
        bmc_fallback=_fallback(node.bmc.fallback),
    )


def _fallback(bmc: BMC | None) -> BMCAccess | None:
    if bmc is None:
        return None
    return BMCAccess(bmc.address, bmc.credentials, bmc.insecure, bmc.ca_bundle)


def _disk(disk: Disk) -> DiskPlan:
    return DiskPlan(disk.name, disk.size_gigabytes, disk.model, disk.serial_number, disk.rotational)


def _rack(rack: Rack) -> RackPlan:
    budget = rack.power_budget
    if budget is None:
        return RackPlan(rack.region, rack.zone, rack.name)
    limit, stagger = budget.max_concurrent_power_on, budget.stagger_seconds
    return RackPlan(rack.region, rack.zone, rack.name, limit, float(stagger))


def _interface(nic: NIC, net: NetworkSpec) -> InterfacePlan:
    return InterfacePlan(
        name=nic.name,
        mac=nic.mac,
        network=net.name,
        address=f"{nic.ip}/{net.cidr.prefixlen}" if nic.ip is not None else None,
        gateway=str(net.gateway) if net.gateway else None,
        dns=tuple(str(d) for d in net.dns),
        vlan=net.vlan,
        mtu=net.mtu,
    )


def _cluster(topology: Topology, index: int) -> ClusterPlan:
    layer = topology.layers[index]
    members = [n for n in topology.nodes if n.layer == layer.name]
    host = f"[{layer.endpoint.vip}]" if layer.endpoint.vip.version == 6 else str(layer.endpoint.vip)
    provisioned_by = "seed" if index == 0 else layer.provisioned_by or topology.layers[0].name
    return ClusterPlan(
        name=layer.name,
        index=index + 1,
        distribution=layer.distribution.name,
        version=layer.distribution.version,
        endpoint=f"https://{host}:{layer.endpoint.port}",
        pod_cidr=str(layer.pod_cidr),
        service_cidr=str(layer.service_cidr),
        provisioned_by=provisioned_by,
        pivot=layer.pivot,
        control_plane=tuple(n.name for n in members if n.role == "control-plane"),
        workers=tuple(n.name for n in members if n.role != "control-plane"),
        image_repository=layer.image_repository,
        pod_network=layer.pod_network or "strata",
    )
