"""Drive servers' BMCs: power, boot device, virtual media, inventory (Redfish and IPMI).

Nothing outside this package imports sushy or pyghmi; callers use the
interface in ``types`` and get drivers from a ``BMCPool`` or ``make_driver``.
"""

from strata.bmc.credentials import Credentials, Secret, resolve_credentials
from strata.bmc.errors import (
    AuthenticationFailed,
    BMCError,
    BMCFault,
    CredentialsUnavailable,
    FileRefused,
    NotSupported,
    TimedOut,
    Unreachable,
)
from strata.bmc.pool import BMCPool
from strata.bmc.registry import make_driver, supports, target_for
from strata.bmc.types import (
    BMCDriver,
    BMCTarget,
    BootDevice,
    BootMode,
    Capability,
    DiskInfo,
    DriverSettings,
    Inventory,
    NICInfo,
    PowerAction,
    PowerState,
)

__all__ = [
    "AuthenticationFailed",
    "BMCDriver",
    "BMCError",
    "BMCFault",
    "BMCPool",
    "BMCTarget",
    "BootDevice",
    "BootMode",
    "Capability",
    "Credentials",
    "CredentialsUnavailable",
    "DiskInfo",
    "DriverSettings",
    "FileRefused",
    "Inventory",
    "NICInfo",
    "NotSupported",
    "PowerAction",
    "PowerState",
    "Secret",
    "TimedOut",
    "Unreachable",
    "make_driver",
    "resolve_credentials",
    "supports",
    "target_for",
]
