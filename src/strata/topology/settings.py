"""Node settings that ``defaults`` blocks carry and every level of the tree may override.

Inheritance (topology -> region -> zone -> rack -> node): nested objects
(``os``, ``bmc``, ``boot``) merge field by field, ``labels`` merge key by
key, and lists (``sshKeys``, ``ignition``) are replaced by the nearest level
that sets them. ``installDisk`` and ``rootDeviceHints`` are one choice: setting
either at a level discards what was inherited for the other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from strata.topology.fields import SpecModel

__all__ = [
    "BMCProtocol",
    "BMCSettings",
    "BootSettings",
    "IgnitionFragment",
    "NodeSettings",
    "OSSettings",
    "RootDeviceHints",
]

OSName = Literal["flatcar", "fcos", "rhcos"]
BootMethod = Literal["pxe", "ipxe", "http", "virtualmedia"]
Firmware = Literal["uefi", "bios"]
Role = Literal["control-plane", "worker"]
# The address schemes of topology.bmc_schemes.SCHEMES, Metal3's names (a test keeps them equal).
BMCProtocol = Literal[
    "redfish",
    "redfish+http",
    "redfish+https",
    "redfish-virtualmedia",
    "redfish-virtualmedia+http",
    "redfish-virtualmedia+https",
    "redfish-uefihttp",
    "redfish-uefihttp+http",
    "redfish-uefihttp+https",
    "idrac-redfish",
    "idrac-redfish+http",
    "idrac-redfish+https",
    "idrac-virtualmedia",
    "idrac-virtualmedia+http",
    "idrac-virtualmedia+https",
    "ilo5-redfish",
    "ilo5-redfish+http",
    "ilo5-redfish+https",
    "ilo5-virtualmedia",
    "ilo5-virtualmedia+http",
    "ilo5-virtualmedia+https",
    "ipmi",
]


class OSSettings(SpecModel):
    name: OSName | None = Field(
        default=None, description="Operating system: flatcar, fcos (Fedora CoreOS) or rhcos."
    )
    channel: str | None = Field(
        default=None,
        description="Release channel (Flatcar: stable, beta, alpha, lts) or stream "
        "(FCOS: stable, testing, next; RHCOS: the OpenShift minor, e.g. 4.16).",
    )
    version: str | None = Field(
        default=None, description="Exact OS release, e.g. 4081.2.0 (quote it in YAML)."
    )


class BMCSettings(SpecModel):
    protocol: BMCProtocol | None = Field(
        default=None,
        description="Scheme used when a node's bmc.address is a bare host "
        "(redfish, redfish-virtualmedia, ipmi, …; Metal3's names, see docs/bmc.md).",
    )
    credentials: str | None = Field(
        default=None, description="Name of an entry in the topology's credentials."
    )
    insecure: bool | None = Field(
        default=None,
        description="Skip TLS certificate verification for this BMC (warned about once).",
    )
    ca_bundle: str | None = Field(
        default=None,
        description="CA certificates (a PEM file, relative to the topology and inside its "
        "directory or one STRATA_ALLOWED_DIRS names) that sign the BMC's certificate; "
        "the system's trust store otherwise.",
    )


class BootSettings(SpecModel):
    method: BootMethod | list[BootMethod] | None = Field(
        default=None,
        description="How the server boots its installer: pxe, ipxe, http (UEFI HTTP boot) or "
        "virtualmedia; or a list of them in order of preference, each tried when the BMC "
        "cannot do the one before or its boot fails (docs/boot.md, 'Fallback').",
    )
    firmware: Firmware | None = Field(default=None, description="Firmware mode: uefi or bios.")

    @field_validator("method")
    @classmethod
    def _methods(cls, method: BootMethod | list[BootMethod] | None) -> Any:
        if isinstance(method, list):
            if not method:
                raise PydanticCustomError("no_methods", "list at least one boot method")
            if len(set(method)) != len(method):
                raise PydanticCustomError("repeated_method", "a boot method is listed twice")
            if {"pxe", "ipxe"} <= set(method):  # one road: a PXE boot that chains to iPXE
                raise PydanticCustomError(
                    "same_road", "pxe and ipxe boot the same way (a one-time PXE boot): list one"
                )
        return method


class RootDeviceHints(SpecModel):
    """Which disk to install to, by its properties (as Metal3 and Ironic spell them)."""

    device_name: str | None = Field(
        default=None, description="e.g. /dev/sda or /dev/disk/by-path/…"
    )
    hctl: str | None = Field(default=None, description="SCSI address host:channel:target:lun.")
    model: str | None = Field(default=None, description="Disk model, substring match.")
    vendor: str | None = Field(default=None, description="Disk vendor, substring match.")
    serial_number: str | None = Field(default=None, description="Disk serial number.")
    wwn: str | None = Field(default=None, description="World Wide Name.")
    min_size_gigabytes: int | None = Field(
        default=None, ge=1, description="Smallest acceptable size in GB."
    )
    rotational: bool | None = Field(default=None, description="true for spinning disks.")

    @model_validator(mode="after")
    def _not_empty(self) -> RootDeviceHints:
        if not self.model_dump(exclude_none=True):
            raise PydanticCustomError("empty_hints", "set at least one hint")
        return self


class IgnitionFragment(SpecModel):
    """A piece of Ignition config merged into the node's generated config."""

    name: str = Field(description="A label for this fragment, used in messages.")
    inline: dict[str, Any] | None = Field(
        default=None, description="The fragment itself, written as YAML."
    )
    file: str | None = Field(
        default=None,
        description="A JSON (.ign, .json) or YAML file holding the fragment, relative to the "
        "topology and inside its directory or one STRATA_ALLOWED_DIRS names.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> IgnitionFragment:
        if (self.inline is None) == (self.file is None):
            raise PydanticCustomError("fragment_source", "set exactly one of 'inline' or 'file'")
        return self


class NodeSettings(SpecModel):
    """Everything a ``defaults`` block may set; a node may set the same fields itself."""

    layer: str | None = Field(default=None, description="Name of the layer the node belongs to.")
    role: Role | None = Field(default=None, description="control-plane or worker (default).")
    os: OSSettings | None = Field(default=None, description="Operating system to install.")
    bmc: BMCSettings | None = Field(default=None, description="How to reach the node's BMC.")
    boot: BootSettings | None = Field(default=None, description="How the node network-boots.")
    install_disk: str | None = Field(
        default=None, description="Disk to install to, e.g. /dev/sda; or use rootDeviceHints."
    )
    root_device_hints: RootDeviceHints | None = Field(
        default=None, description="Disk to install to, chosen by its properties."
    )
    ssh_keys: list[str] | None = Field(
        default=None, description="SSH public keys authorized for the core user."
    )
    ignition: list[IgnitionFragment] | None = Field(
        default=None, description="Ignition fragments merged into the generated config."
    )
    labels: dict[str, str] | None = Field(
        default=None,
        description="Kubernetes node labels; merged key by key down the tree. A node carries "
        "at most 64, of 4,096 bytes of keys and values together.",
    )

    @model_validator(mode="after")
    def _one_install_target(self) -> NodeSettings:
        if self.install_disk is not None and self.root_device_hints is not None:
            raise PydanticCustomError(
                "install_target", "set either 'installDisk' or 'rootDeviceHints', not both"
            )
        return self
