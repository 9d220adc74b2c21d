"""Set System Boot Options on BMCs that implement only some of its parameters (IPMI v2.0,
section 28.12, table 28-14): an optional parameter refused is recorded and the boot flags
(parameter 5) are still set, as ``ipmitool chassis bootparam get 5`` - a second client - shows."""

from __future__ import annotations

import logging

import pytest

from strata.bmc import BMCFault, BootDevice, BootMode
from tests.integration.bmc.conftest import driver, running_ipmi_simulator
from tests.integration.bmc.test_ipmi import ipmitool


@pytest.mark.parametrize("refused", [["3"], ["0", "3"]], ids=["param3", "params0and3"])
def test_optional_parameters_refused_do_not_stop_the_boot_flags(
    password: str, refused: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="strata.bmc")
    options = [arg for p in refused for arg in ("--refuse-boot-param", p)]
    with running_ipmi_simulator(password, *options) as sim:
        bmc = driver(sim.address, password, username="admin", node="node-i")
        bmc.set_boot_device(BootDevice.PXE, BootMode.UEFI)
        shown = ipmitool(sim, password, "chassis", "bootparam", "get", "5")
        # pyghmi's server would refuse the same sequence from pyghmi's own set_bootdev
        # at parameter 3; ipmitool sends no parameter 3 and also sets the device here.
        ipmitool(sim, password, "chassis", "bootdev", "disk")
        after_ipmitool = ipmitool(sim, password, "chassis", "bootparam", "get", "5")
    assert "Force PXE" in shown
    assert "BIOS EFI boot" in shown and "Options apply to only next boot" in shown
    assert "Force Boot from default Hard-Drive" in after_ipmitool
    for parameter in refused:
        assert any(
            f"parameter {parameter} (" in r.getMessage() and "refused: 0x80" in r.getMessage()
            for r in caplog.records
        ), f"the refusal of parameter {parameter} is not recorded"


def test_persistent_legacy_flags_reach_the_bmc(password: str) -> None:
    with running_ipmi_simulator(password, "--refuse-boot-param", "3") as sim:
        driver(sim.address, password, username="admin").set_boot_device(
            BootDevice.DISK, BootMode.LEGACY, persistent=True
        )
        shown = ipmitool(sim, password, "chassis", "bootparam", "get", "5")
    assert "Force Boot from default Hard-Drive" in shown
    assert "Options apply to all future boots" in shown
    assert "BIOS PC Compatible (legacy) boot" in shown


def test_a_refused_boot_flags_parameter_is_a_clear_error(password: str) -> None:
    with running_ipmi_simulator(password, "--refuse-boot-param", "5") as sim:
        bmc = driver(sim.address, password, username="admin", node="node-i")
        with pytest.raises(BMCFault) as caught:
            bmc.set_boot_device(BootDevice.PXE)
        shown = ipmitool(sim, password, "chassis", "bootparam", "get", "5")
    message = str(caught.value)
    assert "node node-i" in message
    assert "parameter 5 (boot flags) refused: 0x80, parameter not supported" in message
    assert "no boot device was set" in message
    assert not caught.value.transient
    assert "Force PXE" not in shown
