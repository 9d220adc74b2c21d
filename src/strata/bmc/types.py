"""The nouns of BMC management: power, boot devices, inventory, and the driver interface.

The interface follows Ironic's power and management interfaces: a handful
of verbs, each idempotent, each bounded by a timeout.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "BMCDriver",
    "BMCTarget",
    "BootDevice",
    "BootMode",
    "Capability",
    "DiskInfo",
    "DriverSettings",
    "Inventory",
    "NICInfo",
    "PowerAction",
    "PowerState",
]


class PowerState(enum.StrEnum):
    ON = "on"
    OFF = "off"
    POWERING_ON = "powering-on"
    POWERING_OFF = "powering-off"
    UNKNOWN = "unknown"


class PowerAction(enum.StrEnum):
    ON = "on"
    OFF = "off"  # immediate (ForceOff)
    GRACEFUL_OFF = "graceful-off"  # ask the OS to shut down
    RESET = "reset"  # immediate restart
    CYCLE = "cycle"  # off, then on

    @property
    def settles_at(self) -> PowerState:
        return (
            PowerState.OFF if self in (PowerAction.OFF, PowerAction.GRACEFUL_OFF) else PowerState.ON
        )


class BootDevice(enum.StrEnum):
    PXE = "pxe"
    HTTP = "http"  # UEFI HTTP boot
    CD = "cd"  # including virtual media
    DISK = "disk"


class BootMode(enum.StrEnum):
    UEFI = "uefi"
    LEGACY = "legacy"


class Capability(enum.StrEnum):
    POWER = "power"
    BOOT_DEVICE = "boot-device"
    VIRTUAL_MEDIA = "virtual-media"
    INVENTORY = "inventory"


@dataclass(frozen=True, slots=True)
class BMCTarget:
    """Where a node's BMC is and how to talk to it (no secrets)."""

    node: str
    address: str  # as in topology.yaml, e.g. redfish://10.0.0.5/redfish/v1/Systems/1
    protocol: str  # the address scheme
    host: str
    port: int | None
    system: str | None = None  # Redfish system path
    insecure: bool = False
    ca_bundle: str | None = None  # absolute path of a PEM bundle
    privilege: str | None = None  # IPMI session privilege


@dataclass(frozen=True, slots=True)
class NICInfo:
    mac: str
    link: str  # "up", "down" or "unknown"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DiskInfo:
    name: str | None
    size_bytes: int | None
    model: str | None
    serial_number: str | None
    rotational: bool | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a BMC reports of its machine. CPUs in the field's terms: sockets (populated
    processor packages), cores (physical, all sockets) and threads (logical processors,
    all sockets): a 2-socket, 28-core machine with SMT is 2, 56 and 112."""

    manufacturer: str | None
    model: str | None
    serial_number: str | None
    cpu_threads: int | None  # logical processors (hardware threads), every socket
    memory_gib: float | None
    bmc_firmware: str | None
    nics: tuple[NICInfo, ...] = field(default=())
    disks: tuple[DiskInfo, ...] = field(default=())
    cpu_sockets: int | None = None  # populated processor sockets
    cpu_cores: int | None = None  # physical cores, every socket


class BMCDriver(Protocol):
    """One BMC. Safe to call from any thread: operations on one BMC run one at a time."""

    target: BMCTarget
    capabilities: frozenset[Capability]

    def power_state(self) -> PowerState: ...

    def power(self, action: PowerAction) -> PowerState:
        """Do ``action`` and wait until the power state settles; returns it."""
        ...

    def set_boot_device(
        self, device: BootDevice, mode: BootMode = BootMode.UEFI, *, persistent: bool = False
    ) -> None: ...

    def insert_media(self, url: str) -> None: ...

    def eject_media(self) -> None: ...

    def inventory(self) -> Inventory: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DriverSettings:
    """Time limits for BMC work; the defaults suit real servers, tests shrink them."""

    connect_timeout: float = 5.0  # per TCP connection
    read_timeout: float = 30.0  # per request
    operation_timeout: float = 300.0  # one operation, retries and waiting included
    power_timeout: float = 120.0  # until the power state settles
    poll_interval: float = 2.0  # between power-state reads while waiting
    attempts: int = 3  # tries for a transient fault, the first included
    retry_delay: float = 0.5  # base of the exponential backoff
    # told of every BMC operation once it ends: (operation, result, seconds) (``Guard``)
    observe: Callable[[str, str, float], None] | None = field(default=None, compare=False)
