"""The lab's Redfish service, driven by Strata's Redfish driver (sushy) as a real BMC
would be: power, one-time boot override, inventory, and a wrong password. Each power-on
starts a real QEMU process (user networking here: no root needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.bmc import AuthenticationFailed, BootDevice, PowerAction, PowerState
from strata.lab.image import LabImageError, install_image
from strata.lab.machines import LabMachine
from strata.lab.network import lab_network
from strata.lab.redfish import LabBMC
from strata.topology import load
from tests.integration.bmc.conftest import FAST, driver
from tests.support.boot_server import RunningServer, free_port

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


@pytest.fixture
def lab_bmc(tmp_path: Path) -> Iterator[tuple[str, LabMachine]]:
    machine = LabMachine(
        "m1", "52:54:00:12:34:56", tmp_path, bootfile="http://10.0.2.2:9/boot.ipxe"
    )
    service = LabBMC({"m1": machine}, "admin", "lab-pw")
    server = RunningServer(service.app, free_port())
    yield f"redfish+http://127.0.0.1:{server.port}/redfish/v1/Systems/m1", machine
    machine.power_off()
    server.stop()


def test_power_and_boot_override_start_and_stop_a_qemu_machine(
    lab_bmc: tuple[str, LabMachine],
) -> None:
    address, machine = lab_bmc
    bmc = driver(address, "lab-pw", username="admin", settings=FAST)
    assert bmc.power_state() is PowerState.OFF
    bmc.set_boot_device(BootDevice.PXE)
    assert machine.boot_once == "Pxe"
    assert bmc.power(PowerAction.ON) is PowerState.ON
    assert machine.process is not None
    assert "order=n" in " ".join(map(str, machine.process.args))  # type: ignore[arg-type]
    assert machine.boot_once is None  # one-time: consumed by the power-on
    time.sleep(0.5)
    assert machine.on, (machine.workdir / "m1.qemu.log").read_text()
    inventory = bmc.inventory()
    assert [n.mac for n in inventory.nics] == ["52:54:00:12:34:56"]
    assert inventory.bmc_firmware == "strata-lab-1"
    assert bmc.power(PowerAction.OFF) is PowerState.OFF
    assert not machine.on and machine.power_ons == 1


def test_a_wrong_password_is_refused(lab_bmc: tuple[str, LabMachine]) -> None:
    address, _ = lab_bmc
    with pytest.raises(AuthenticationFailed):
        driver(address, "not-it", username="admin", settings=FAST).power_state()


def test_the_stand_in_never_replaces_a_real_artifact(tmp_path: Path) -> None:
    kernel, initrd = tmp_path / "k", tmp_path / "i"
    kernel.write_text("stand-in kernel")
    initrd.write_text("stand-in initramfs")
    target = install_image(kernel, initrd, tmp_path / "mirror", "flatcar", "4081.2.0")
    assert (target / "flatcar_production_pxe.vmlinuz").read_text() == "stand-in kernel"
    assert (target / "STRATA-LAB-STAND-IN").exists()
    install_image(kernel, initrd, tmp_path / "mirror", "flatcar", "4081.2.0")  # again: fine
    real = tmp_path / "real" / "fcos" / "41.20241109.3.0"
    real.mkdir(parents=True)
    (real / "fedora-coreos-41.20241109.3.0-live-kernel.x86_64").write_text("the real thing")
    with pytest.raises(LabImageError, match="is a real artifact"):
        install_image(kernel, initrd, tmp_path / "real", "fcos", "41.20241109.3.0")


def test_the_lab_network_comes_from_the_topology() -> None:
    network = lab_network(load(LAB))
    assert network.namespace == "strata-lab"
    assert (network.gateway, network.prefix) == ("192.168.110.1", 24)
    assert network.bmc_hosts == ("192.168.100.11", "192.168.100.12", "192.168.100.13")
    assert network.taps == {"lab-cp-0": "tap0", "lab-worker-0": "tap1", "lab-worker-1": "tap2"}
