"""The IPMI driver (pyghmi) against an IPMI-over-LAN BMC simulator, with ipmitool as a second,
independent client: what one does, the other sees."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time

import pytest

from strata.bmc import (
    AuthenticationFailed,
    BootDevice,
    BootMode,
    NotSupported,
    PowerAction,
    PowerState,
    Unreachable,
)
from tests.integration.bmc.conftest import FAST, IPMISimulator, driver, elapsed, free_udp_port


def ipmitool(sim: IPMISimulator, password: str, *args: str) -> str:
    tool = shutil.which("ipmitool")
    assert tool, "ipmitool is missing: ./dev test installs it (apt-get install ipmitool)"
    result = subprocess.run(
        [tool, "-I", "lanplus", "-H", "127.0.0.1", "-p", str(sim.port), "-U", "admin", "-E", *args],
        env={"IPMI_PASSWORD": password},  # -E: the password from the environment, not argv
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_power_seen_by_both_clients(ipmi_simulator: IPMISimulator, password: str) -> None:
    bmc = driver(ipmi_simulator.address, password, username="admin")
    assert bmc.power_state() is PowerState.OFF
    assert "Chassis Power is off" in ipmitool(ipmi_simulator, password, "power", "status")
    assert bmc.power(PowerAction.ON) is PowerState.ON  # waits out the simulator's 0.3 s delay
    assert "Chassis Power is on" in ipmitool(ipmi_simulator, password, "power", "status")
    ipmitool(ipmi_simulator, password, "power", "off")
    deadline = time.monotonic() + 5
    while bmc.power_state() is not PowerState.OFF and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bmc.power_state() is PowerState.OFF


@pytest.mark.parametrize("action", [PowerAction.CYCLE, PowerAction.RESET])
def test_restart_actions(ipmi_simulator: IPMISimulator, password: str, action: PowerAction) -> None:
    bmc = driver(ipmi_simulator.address, password, username="admin")
    assert bmc.power(action) is PowerState.ON  # from off: starts it
    assert bmc.power(action) is PowerState.ON  # from on: restarts it
    assert "Chassis Power is on" in ipmitool(ipmi_simulator, password, "power", "status")


def test_graceful_off(ipmi_simulator: IPMISimulator, password: str) -> None:
    bmc = driver(ipmi_simulator.address, password, username="admin")
    bmc.power(PowerAction.ON)
    assert bmc.power(PowerAction.GRACEFUL_OFF) is PowerState.OFF
    assert "Chassis Power is off" in ipmitool(ipmi_simulator, password, "power", "status")


@pytest.mark.parametrize(
    ("device", "shown"),
    [
        (BootDevice.PXE, "Force PXE"),
        (BootDevice.DISK, "Force Boot from default Hard-Drive"),
        (BootDevice.CD, "Force Boot from CD/DVD"),
    ],
)
def test_boot_device_seen_by_ipmitool(
    ipmi_simulator: IPMISimulator, password: str, device: BootDevice, shown: str
) -> None:
    driver(ipmi_simulator.address, password, username="admin").set_boot_device(
        device, BootMode.UEFI
    )
    assert shown in ipmitool(ipmi_simulator, password, "chassis", "bootparam", "get", "5")


def test_what_ipmi_cannot_do_is_not_supported(ipmi_simulator: IPMISimulator, password: str) -> None:
    bmc = driver(ipmi_simulator.address, password, username="admin")
    with pytest.raises(NotSupported, match="redfish"):
        bmc.set_boot_device(BootDevice.HTTP)
    with pytest.raises(NotSupported, match="virtual media"):
        bmc.insert_media("http://10.0.0.1/x.iso")


def test_inventory_offers_what_ipmi_has(ipmi_simulator: IPMISimulator, password: str) -> None:
    inventory = driver(ipmi_simulator.address, password, username="admin").inventory()
    assert inventory.disks == () and inventory.cpu_threads is None  # IPMI does not say


def test_wrong_password(
    ipmi_simulator: IPMISimulator, password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    bmc = driver(ipmi_simulator.address, "wrong-" + password, username="admin", node="node-i")
    start = time.monotonic()
    with pytest.raises(AuthenticationFailed) as caught:
        bmc.power_state()
    assert elapsed(start) < 5
    assert "node node-i" in str(caught.value)
    assert password not in str(caught.value) and password not in all_logs.text
    assert "bmc retry" not in all_logs.text


def test_bmc_down(password: str, all_logs: pytest.LogCaptureFixture) -> None:
    port = free_udp_port()  # nothing answers there
    once = dataclasses.replace(FAST, attempts=1)
    bmc = driver(f"ipmi://127.0.0.1:{port}", password, username="admin", settings=once)
    start = time.monotonic()
    with pytest.raises(Unreachable):
        bmc.power_state()
    assert elapsed(start) < 10  # pyghmi gives up a logon after about 5 s
    assert password not in all_logs.text
