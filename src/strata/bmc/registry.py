"""Address scheme -> driver, in the manner of bmclib's provider registry.

Each driver declares its capabilities; ``driver_class`` says which driver an
address gets, and ``supports`` whether it can do a thing, before anyone tries.
"""

from __future__ import annotations

from pathlib import Path

from strata.bmc.credentials import Credentials
from strata.bmc.errors import FileRefused
from strata.bmc.guard import Guard
from strata.bmc.ipmi import IPMIDriver
from strata.bmc.redfish import RedfishDriver
from strata.bmc.types import BMCDriver, BMCTarget, Capability, DriverSettings
from strata.topology import BMC
from strata.topology.addresses import BMC_SCHEMES
from strata.topology.file_contents import check_ca_bundle
from strata.topology.named_files import CA_BUNDLE, NamedFileError, NamedFiles

__all__ = ["DRIVERS", "driver_class", "make_driver", "supports", "target_for"]

DriverClass = type[RedfishDriver] | type[IPMIDriver]
DRIVERS: dict[str, DriverClass] = {
    scheme: IPMIDriver if family == "ipmi" else RedfishDriver
    for scheme, (family, _port) in BMC_SCHEMES.items()
}


def driver_class(protocol: str) -> DriverClass:
    try:
        return DRIVERS[protocol]
    except KeyError:
        raise ValueError(f"no BMC driver for {protocol}://") from None


def supports(protocol: str, capability: Capability) -> bool:
    return capability in driver_class(protocol).capabilities


def make_driver(
    target: BMCTarget,
    credentials: Credentials,
    settings: DriverSettings | None = None,
    guard: Guard | None = None,
) -> BMCDriver:
    driver: BMCDriver = driver_class(target.protocol)(target, credentials, settings, guard)
    return driver


def target_for(node: str, bmc: BMC, base_dir: Path | None = None) -> BMCTarget:
    """The BMC as a driver sees it. ``base_dir``: the topology's directory, where its
    ``caBundle`` is read and checked as at ``strata validate`` (raises ``FileRefused``);
    the TLS library gets the bundle's real path."""
    ca_bundle = bmc.ca_bundle
    if ca_bundle and base_dir is not None:
        ca_bundle = _checked_ca_bundle(node, bmc, ca_bundle, base_dir)
    return BMCTarget(
        node=node,
        address=bmc.address,
        protocol=bmc.protocol,
        host=bmc.host,
        port=bmc.port,
        system=bmc.system,
        insecure=bmc.insecure,
        ca_bundle=ca_bundle,
        privilege=bmc.privilege,
    )


def _checked_ca_bundle(node: str, bmc: BMC, name: str, base_dir: Path) -> str:
    try:
        files = NamedFiles.beside(base_dir)
        check_ca_bundle(files.read(name, CA_BUNDLE), name)
        return str(files.resolve(name, CA_BUNDLE))
    except NamedFileError as exc:
        raise FileRefused(node, bmc.address, exc.message, hint=exc.hint) from None
