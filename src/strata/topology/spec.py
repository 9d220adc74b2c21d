"""The topology.yaml document as written: the schema behind `strata schema`.

Fields that a generator may pattern (node and rack names, BMC addresses, MACs,
IPs, switch ports) are plain strings here; their formats are checked after
generators are expanded (see ``resolve``), where every node has its own value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from strata.topology.fields import IPAddress, IPNetwork, Name, SecretValue, SpecModel
from strata.topology.settings import BMCSettings, NodeSettings

__all__ = [
    "API_VERSION",
    "IMAGE_REPOSITORY",
    "MAX_IMAGE_REPOSITORY",
    "CredentialSpec",
    "Generate",
    "LayerSpec",
    "NetworkSpec",
    "NodeSpec",
    "RackSpec",
    "RegionSpec",
    "SwitchSpec",
    "TopologySpec",
    "ZoneSpec",
]

API_VERSION = "strata.dev/v1alpha1"

# A registry and an optional path, as a container image reference begins (the grammar
# of github.com/distribution/reference, regexp.go: domain, then path components);
# kube_rules checks it with a located message, the schema lets editors check it too.
IMAGE_REPOSITORY = (
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
MAX_IMAGE_REPOSITORY = 200
"""Characters of imageRepository: an image reference's name is at most 255
(distribution/reference NameTotalLengthMax), and the image's own path follows it."""


class Generate(SpecModel):
    """Turns one entry into ``count`` entries; see "Generators" in docs/topology.md."""

    count: int = Field(ge=1, le=100_000, description="How many entries this one stands for.")
    start: int = Field(
        default=1, ge=0, le=1_000_000_000, description="The first value of {index} (or {rack})."
    )


class FallbackBMC(SpecModel):
    """A second way into the same server's BMC, taken when the first fails (docs/bmc.md,
    "A fallback BMC"): most often its IPMI beside its Redfish."""

    address: str = Field(
        description="BMC address as a URL with its scheme (ipmi://host:623, redfish://…)."
    )
    credentials: str | None = Field(
        default=None,
        description="Name of an entry in the topology's credentials; the node's bmc.credentials "
        "if unset.",
    )
    insecure: bool = Field(
        default=False, description="Skip TLS certificate verification (a Redfish address)."
    )
    ca_bundle: str | None = Field(
        default=None, description="CA certificates for a Redfish address, as bmc.caBundle."
    )


class NodeBMC(BMCSettings):
    address: str = Field(
        description="BMC address as a URL (redfish://host/redfish/v1/Systems/1, "
        "redfish-virtualmedia://…, ipmi://host:623) or a bare host with bmc.protocol set."
    )
    fallback: FallbackBMC | None = Field(
        default=None,
        description="The same BMC by another address or protocol (its IPMI beside its "
        "Redfish, say): a BMC action that fails through address goes again through this one, "
        "for the rest of the install (docs/bmc.md, 'A fallback BMC').",
    )


class SwitchPortRef(SpecModel):
    switch: str = Field(description="Name of a switch in the node's rack.")
    port: str | int = Field(description="Port name or number on that switch.")


class NICSpec(SpecModel):
    name: str | None = Field(default=None, description="Interface name, e.g. eno1.")
    mac: str = Field(description="MAC address, e.g. 52:54:00:12:34:56.")
    network: str = Field(description="Name of the network this NIC is attached to.")
    ip: str = Field(default="dhcp", description="Static address in the network, or dhcp.")
    switch_port: SwitchPortRef | None = Field(
        default=None, description="Where the cable goes: switch and port."
    )


class DiskSpec(SpecModel):
    name: str = Field(description="Device name as the OS sees it, e.g. /dev/sda or /dev/nvme0n1.")
    size_gigabytes: int | None = Field(default=None, ge=1, description="Capacity in GB.")
    model: str | None = Field(default=None, description="Disk model as the BMC reports it.")
    serial_number: str | None = Field(default=None, description="Disk serial number.")
    rotational: bool | None = Field(default=None, description="true for spinning disks.")


class NodeSpec(NodeSettings):
    """A server. With ``generate`` it stands for many servers with patterned values."""

    name: str = Field(description="Hostname (a DNS label); with generate, a pattern.")
    generate: Generate | None = Field(default=None, description="Stand for many nodes.")
    bmc: NodeBMC = Field(description="The node's baseboard management controller.")
    boot_mac: str | None = Field(
        default=None,
        alias="bootMAC",
        description="MAC that network-boots; defaults to the first NIC's.",
    )
    nics: list[NICSpec] = Field(default_factory=list, description="Network interfaces.")
    disks: list[DiskSpec] = Field(
        default_factory=list, description="Disks, as inspection expects them."
    )


class SwitchSpec(SpecModel):
    name: str = Field(description="Switch name, unique in the rack.")
    model: str | None = Field(default=None, description="Vendor model, e.g. Arista 7050SX3.")
    management_address: str | None = Field(default=None, description="Management IP address.")
    ports: int | list[str] = Field(
        description="A port count (ports are then named 1..N) or the list of port names."
    )


class PowerBudget(SpecModel):
    """Limits inrush current: how many servers of the rack power on together."""

    max_concurrent_power_on: int = Field(ge=1, description="Servers powering on at once, at most.")
    stagger_seconds: float = Field(
        default=0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="Delay between two power-ons, in seconds (at most an hour).",
    )


class RackSpec(SpecModel):
    name: str = Field(description="Rack name, unique in the zone; with generate, a pattern.")
    generate: Generate | None = Field(default=None, description="Stand for many racks.")
    defaults: NodeSettings | None = Field(
        default=None, description="Settings for the rack's nodes."
    )
    power_budget: PowerBudget | None = Field(default=None, description="Power-on limits.")
    switches: list[SwitchSpec] = Field(default_factory=list, description="Top-of-rack switches.")
    nodes: list[NodeSpec] = Field(default_factory=list, description="Servers in the rack.")


class ZoneSpec(SpecModel):
    name: Name = Field(description="Zone name, unique in the region.")
    defaults: NodeSettings | None = Field(
        default=None, description="Settings for the zone's nodes."
    )
    racks: list[RackSpec] = Field(default_factory=list, description="Racks in the zone.")


class RegionSpec(SpecModel):
    name: Name = Field(description="Region name, unique in the topology.")
    defaults: NodeSettings | None = Field(
        default=None, description="Settings for the region's nodes."
    )
    zones: list[ZoneSpec] = Field(default_factory=list, description="Zones in the region.")


class DHCPRange(SpecModel):
    start: IPAddress = Field(description="First address handed out.")
    end: IPAddress = Field(description="Last address handed out.")


class NetworkSpec(SpecModel):
    name: Name = Field(description="Network name, referenced by NICs and layers.")
    purpose: Literal["bmc", "provisioning", "cluster", "storage", "external"] = Field(
        description="What the network carries; a topology needs a bmc and a provisioning network."
    )
    cidr: IPNetwork = Field(description="Address range, e.g. 10.0.0.0/24.")
    gateway: IPAddress | None = Field(default=None, description="Default gateway.")
    dns: list[IPAddress] = Field(default_factory=list, description="DNS resolvers.")
    vlan: int | None = Field(default=None, ge=1, le=4094, description="802.1Q VLAN ID.")
    mtu: int | None = Field(default=None, ge=576, le=9216, description="MTU in bytes.")
    dhcp_range: DHCPRange | None = Field(
        default=None, description="Dynamic range; static addresses must stay outside it."
    )


class Distribution(SpecModel):
    name: Literal["kubeadm", "k3s"] = Field(description="kubeadm or k3s.")
    version: str = Field(
        description="The release, spelled as the distribution names it (quote it in YAML): "
        "kubeadm takes the Kubernetes version, e.g. 1.31.2; k3s takes the k3s release, "
        "the Kubernetes version and its k3s build, e.g. 1.31.2+k3s1."
    )


class Endpoint(SpecModel):
    vip: IPAddress = Field(description="Virtual IP of the Kubernetes API; on no node.")
    port: int = Field(default=6443, ge=1, le=65535, description="API server port.")
    network: Name | None = Field(
        default=None, description="Network holding the VIP; by default the one whose CIDR does."
    )


class LayerSpec(SpecModel):
    """One Kubernetes cluster; layer 1 (the first) manages the others."""

    name: Name = Field(description="Layer (cluster) name.")
    distribution: Distribution = Field(description="Kubernetes distribution and version.")
    endpoint: Endpoint = Field(description="Control-plane endpoint.")
    pod_cidr: IPNetwork = Field(alias="podCIDR", description="Pod network range.")
    service_cidr: IPNetwork = Field(alias="serviceCIDR", description="Service network range.")
    provisioned_by: Name | None = Field(
        default=None,
        description="Layer whose controller provisions this one; the first layer is "
        "provisioned by the seed and leaves this empty.",
    )
    pivot: bool = Field(
        default=False, description="Move Strata's management plane into this cluster once built."
    )
    image_repository: str | None = Field(
        default=None,
        description="Registry mirror of the layer's images for an air-gapped datacenter, "
        "host[:port][/path] without a scheme (e.g. registry.dc.example:5000/k8s). It becomes "
        "kubeadm's imageRepository (control-plane images, otherwise from registry.k8s.io), "
        "k3s's system-default-registry, and the registry of kube-vip's image (otherwise "
        "ghcr.io). Unset: the public registries.",
        json_schema_extra={"pattern": IMAGE_REPOSITORY, "maxLength": MAX_IMAGE_REPOSITORY},
    )
    pod_network: Literal["strata", "none"] | None = Field(
        default=None,
        alias="podNetwork",
        description="kubeadm layers: the pod network. strata (the default): each node gets "
        "a /24 (IPv6: /64) of podCIDR on a CNI bridge and static routes to the other nodes' "
        "pod subnets, no container image needed (docs/kubernetes.md, Pod network). none: "
        "Strata installs no CNI; bring one (Calico, Cilium, flannel...). k3s layers run "
        "k3s's own flannel and take neither.",
    )


class CredentialSpec(SpecModel):
    name: Name = Field(description="Referenced by bmc.credentials.")
    username: str = Field(description="BMC user name.")
    password: SecretValue = Field(description="Where the password lives: env, file or secret.")


class Metadata(SpecModel):
    name: Name = Field(description="Name of this datacenter topology.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free-form labels.")


class TopologySpec(SpecModel):
    """A whole datacenter: networks, clusters (layers), and the physical tree of servers."""

    api_version: Literal["strata.dev/v1alpha1"] = Field(description="Schema version.")
    kind: Literal["Topology"] = Field(description="Always Topology.")
    metadata: Metadata = Field(description="Name and labels.")
    defaults: NodeSettings | None = Field(default=None, description="Settings for every node.")
    credentials: list[CredentialSpec] = Field(default_factory=list, description="BMC credentials.")
    networks: list[NetworkSpec] = Field(description="Networks: at least bmc and provisioning.")
    layers: list[LayerSpec] = Field(description="Kubernetes clusters, management layer first.")
    regions: list[RegionSpec] = Field(description="The physical tree of servers.")
