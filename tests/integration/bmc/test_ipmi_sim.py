"""The IPMI driver against a second, independent BMC implementation: OpenIPMI's ipmi_sim,
whose power control starts and stops a real process standing for the machine."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.bmc import BMCFault, BootDevice, BootMode, PowerAction, PowerState
from strata.bmc.types import BMCDriver
from strata.lab.ports import free_port
from tests.integration.bmc.conftest import driver, free_udp_port
from tests.support.ipmi_sim import FRU, IPMISim

MACHINE = FRU("Contoso", "Rackserver 3500", "RS3500-A", "CN-0042", "Contoso Boards", "MB-7")


@pytest.fixture
def ipmi_sim(tmp_path: Path, password: str) -> Iterator[tuple[IPMISim, BMCDriver]]:
    sim = IPMISim(tmp_path, free_udp_port(), free_port(), "admin", password, MACHINE)
    bmc = driver(f"ipmi://127.0.0.1:{sim.port}", password, username="admin")
    deadline = time.monotonic() + 10
    while True:  # ready when it answers
        try:
            bmc.power_state()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            bmc.close()
            time.sleep(0.2)
    yield sim, bmc
    bmc.close()
    sim.stop()


def ipmitool_power(sim: IPMISim, password: str) -> str:
    return ipmitool_sim(sim, password, "power", "status")


def ipmitool_sim(sim: IPMISim, password: str, *args: str, check: bool = True) -> str:
    """ipmitool's output, standard error included."""
    tool = shutil.which("ipmitool")
    assert tool
    # -C 3: ipmi_sim speaks cipher suite 3; without it ipmitool takes ~10 s (shared/TESTING.md).
    result = subprocess.run(
        [
            tool,
            "-I",
            "lanplus",
            "-C",
            "3",
            "-H",
            "127.0.0.1",
            "-p",
            str(sim.port),
            "-U",
            "admin",
            "-E",
            *args,
        ],
        env={"IPMI_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=30,
        check=check,
    )
    return result.stdout + result.stderr


def test_power_starts_and_stops_the_machine(
    ipmi_sim: tuple[IPMISim, BMCDriver], password: str
) -> None:
    sim, bmc = ipmi_sim
    assert bmc.power_state() is PowerState.OFF and not sim.machine_running()
    assert bmc.power(PowerAction.ON) is PowerState.ON
    assert sim.machine_running()
    assert "Chassis Power is on" in ipmitool_power(sim, password)
    assert bmc.power(PowerAction.OFF) is PowerState.OFF
    assert not sim.machine_running()
    assert "Chassis Power is off" in ipmitool_power(sim, password)


def test_inventory_from_the_fru(ipmi_sim: tuple[IPMISim, BMCDriver]) -> None:
    _, bmc = ipmi_sim
    inventory = bmc.inventory()
    assert (inventory.manufacturer, inventory.model, inventory.serial_number) == (
        "Contoso",
        "Rackserver 3500",
        "CN-0042",
    )
    assert inventory.bmc_firmware == "9.8"  # mc_add's firmware revision 9.08


def test_a_bmc_that_cannot_set_boot_flags_says_so(
    ipmi_sim: tuple[IPMISim, BMCDriver], password: str
) -> None:
    """ipmi_sim without a machine on its VM codec answers 0xCC to boot flags (parameter 5)
    and to set-in-progress (parameter 0), and accepts parameter 3: Strata passes the
    optional refusal by, and names the required one; ipmitool fails there likewise."""
    sim, bmc = ipmi_sim
    with pytest.raises(BMCFault) as caught:
        bmc.set_boot_device(BootDevice.PXE, BootMode.UEFI)
    assert "parameter 5 (boot flags) refused: 0xCC, invalid data field in request" in str(
        caught.value
    )
    tried = ipmitool_sim(sim, password, "chassis", "bootdev", "pxe", check=False)
    assert "Set Chassis Boot Parameter 5 failed" in tried
