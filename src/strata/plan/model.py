"""What Strata will make of each server and each cluster: NodePlan and ClusterPlan.

A plan holds no secrets: credentials appear by name only.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from strata.errors import StrataError
from strata.topology.diagnostics import did_you_mean

__all__ = [
    "BMCAccess",
    "ChangeKind",
    "ClusterPlan",
    "DiskPlan",
    "InterfacePlan",
    "NodeChange",
    "NodePlan",
    "Plan",
    "RackPlan",
    "UnknownLayer",
    "node_plan_from_jsonable",
    "to_jsonable",
]


@dataclass(frozen=True, slots=True)
class InterfacePlan:
    name: str | None
    mac: str
    network: str
    address: str | None  # CIDR notation, e.g. 10.0.1.11/24; None: DHCP
    gateway: str | None
    dns: tuple[str, ...]
    vlan: int | None
    mtu: int | None


@dataclass(frozen=True, slots=True)
class DiskPlan:
    """A disk the server should have: what inspection expects its BMC to report."""

    name: str
    size_gigabytes: int | None = None  # decimal GB, as topology.yaml writes it
    model: str | None = None
    serial_number: str | None = None
    rotational: bool | None = None


@dataclass(frozen=True, slots=True)
class RackPlan:
    """A rack and its power budget: how many of its servers may power on together
    (``None``: no limit) and the seconds between two power-ons."""

    region: str
    zone: str
    name: str
    max_concurrent_power_on: int | None = None
    stagger_seconds: float = 0.0

    @property
    def key(self) -> str:
        return rack_key(self.region, self.zone, self.name)


def rack_key(region: str, zone: str, rack: str) -> str:
    """A rack's name in the datacenter: ``region/zone/rack``."""
    return f"{region}/{zone}/{rack}"


@dataclass(frozen=True, slots=True)
class BMCAccess:
    """A node's fallback BMC address (``bmc.fallback``), as the plan keeps its first one:
    the address, the name of its credentials entry (never the secret), its TLS settings."""

    address: str
    credentials: str | None
    insecure: bool = False
    ca_bundle: str | None = None


@dataclass(frozen=True, slots=True)
class NodePlan:
    """One server, every inherited value filled in: all the controller, the boot service
    and DHCP know of it (its BMC by address and credentials name, its expected NICs and
    disks, its rack). A removed node is powered off from its recorded NodePlan."""

    name: str
    region: str
    zone: str
    rack: str
    layer: str
    role: str
    bmc_address: str
    bmc_credentials: str | None  # the name of a credentials entry, never the secret
    bmc_insecure: bool
    bmc_ca_bundle: str | None
    boot_mac: str
    boot_method: str
    firmware: str
    os_name: str
    os_channel: str | None
    os_version: str
    install_disk: str | None
    root_device_hints: Mapping[str, Any] | None
    interfaces: tuple[InterfacePlan, ...]
    disks: tuple[DiskPlan, ...]  # the expected inventory, with the NICs in ``interfaces``
    ssh_keys: tuple[str, ...]
    ignition_fragments: tuple[str, ...]
    labels: Mapping[str, str]
    # boot.method as a list: the methods after ``boot_method``, each tried in turn when
    # the BMC cannot do the one before or that one's boot fails (docs/boot.md, "Fallback")
    boot_fallbacks: tuple[str, ...] = ()
    bmc_fallback: BMCAccess | None = None  # taken when an action through bmc_address fails

    @property
    def boot_methods(self) -> tuple[str, ...]:
        return (self.boot_method, *self.boot_fallbacks)

    def through_fallback(self) -> NodePlan:
        """This plan with its fallback BMC in the place of its first (``ValueError`` if
        it has none): what a driver for the fallback is made from."""
        if self.bmc_fallback is None:
            raise ValueError(f"{self.name} has no fallback BMC")
        b = self.bmc_fallback
        return replace(
            self,
            bmc_address=b.address,
            bmc_credentials=b.credentials,
            bmc_insecure=b.insecure,
            bmc_ca_bundle=b.ca_bundle,
            bmc_fallback=None,
        )


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """One layer: a Kubernetes cluster and the nodes that form it."""

    name: str
    index: int  # 1 = management layer
    distribution: str
    version: str
    endpoint: str  # https://VIP:port
    pod_cidr: str
    service_cidr: str
    provisioned_by: str  # "seed" or the name of an earlier layer
    pivot: bool
    control_plane: tuple[str, ...]
    workers: tuple[str, ...]
    image_repository: str | None = None  # the layer's registry mirror; None: public registries
    pod_network: str = "strata"  # kubeadm layers: "strata" (strata.kube.podnet) or "none"


class ChangeKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPROVISION = "reprovision"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    ADOPT_OR_REINSTALL = "adopt-or-reinstall"  # found running, not installed by Strata


@dataclass(frozen=True, slots=True)
class NodeChange:
    node: str
    kind: ChangeKind
    changed: tuple[str, ...] = ()  # NodePlan fields that differ from the recorded plan

    @property
    def destructive(self) -> bool:
        """Wipes or powers off a server: needs the person's explicit consent."""
        return self.kind in (ChangeKind.REPROVISION, ChangeKind.DELETE)


class UnknownLayer(StrataError):
    """A layer name the topology does not declare."""

    kind = "unknown-layer"
    exit_code = 2

    def __init__(self, name: str, topology: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"no layer {name!r} in topology {topology} (its layers: {', '.join(known) or 'none'})"
        )
        self.hint = did_you_mean(name, known) or "name a layer of the topology's layers list"


@dataclass(frozen=True, slots=True)
class Plan:
    topology: str
    nodes: tuple[NodePlan, ...]
    clusters: tuple[ClusterPlan, ...]
    actions: tuple[NodeChange, ...]
    racks: tuple[RackPlan, ...] = ()

    def layer(self, name: str) -> ClusterPlan:
        """The layer ``name``'s ClusterPlan; ``UnknownLayer`` (message and a did-you-mean
        hint) when the topology declares none of that name."""
        found = {c.name: c for c in self.clusters}
        if name not in found:
            raise UnknownLayer(name, self.topology, tuple(found))
        return found[name]

    def counts(self) -> dict[str, int]:
        out = {kind.value: 0 for kind in ChangeKind}
        for action in self.actions:
            out[action.kind.value] += 1
        return out


def to_jsonable(value: Any) -> Any:
    """Dataclasses, mappings, tuples, addresses and enums -> JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, IPv4Address | IPv6Address):
        return str(value)
    return value


def node_plan_from_jsonable(data: Mapping[str, Any]) -> NodePlan:
    """The inverse of ``to_jsonable`` for a NodePlan read back from the store."""
    values = dict(data)
    values["interfaces"] = tuple(
        InterfacePlan(**{**i, "dns": tuple(i["dns"])}) for i in values["interfaces"]
    )
    for name in ("ssh_keys", "ignition_fragments"):
        values[name] = tuple(values[name])
    values["boot_fallbacks"] = tuple(values.get("boot_fallbacks", ()))  # absent before 0.2
    fallback = values.get("bmc_fallback")
    values["bmc_fallback"] = BMCAccess(**fallback) if fallback else None
    values["disks"] = tuple(_disk(d) for d in values["disks"])
    return NodePlan(**values)


def _disk(data: str | Mapping[str, Any]) -> DiskPlan:
    """A recorded disk; plans recorded before 0.1's expected inventory kept names only."""
    return DiskPlan(data) if isinstance(data, str) else DiskPlan(**data)
