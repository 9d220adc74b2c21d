"""The lab's IPMI BMC (pyghmi's BMC server class driving a QEMU machine), driven by
Strata's IPMI driver (pyghmi's client) and by ipmitool, a second, independent client:
power, the one-time PXE boot flag, and a real iPXE network boot that follows it. The BMC
runs in a process of its own (pyghmi's server and client must not share one), the
machine on QEMU's user network: no root needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from strata.bmc import BootDevice, BootMode, PowerAction, PowerState
from tests.integration.bmc.conftest import FAST, driver, free_udp_port
from tests.support.boot_server import RunningServer, free_port

PASSWORD = "lab-ipmi-pw"
BMC_PROCESS = """
import sys
from pathlib import Path
from strata.lab.ipmi import LabIPMI, serve_forever
from strata.lab.machines import LabMachine
machine = LabMachine("m1", "52:54:00:12:34:57", Path(sys.argv[1]), bootfile=sys.argv[2])
LabIPMI(machine, "127.0.0.1", int(sys.argv[3]), "admin", sys.argv[4])
print("listening", flush=True)
try:
    serve_forever()
finally:
    machine.power_off()
"""


@pytest.fixture
def lab_ipmi(tmp_path: Path) -> Iterator[tuple[str, int, RunningServer]]:
    async def script(request: object) -> PlainTextResponse:
        return PlainTextResponse("#!ipxe\necho strata-lab-ipmi\nexit\n")

    boot = RunningServer(Starlette(routes=[Route("/boot.ipxe", script)]), free_port())
    port = free_udp_port()
    bootfile = f"http://10.0.2.2:{boot.port}/boot.ipxe"
    process = subprocess.Popen(
        [sys.executable, "-c", BMC_PROCESS, str(tmp_path), bootfile, str(port), PASSWORD],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "listening"
    yield f"ipmi://127.0.0.1:{port}", port, boot
    process.terminate()
    process.wait(10)
    boot.stop()


def _ipmitool(port: int, *args: str) -> str:
    tool = shutil.which("ipmitool")
    assert tool, "ipmitool is missing: ./dev test installs it (apt-get install ipmitool)"
    return subprocess.run(
        [
            tool,
            *("-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", str(port), "-U", "admin"),
            "-E",
            *args,
        ],
        env={**os.environ, "IPMI_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_power_and_a_one_time_pxe_boot_start_the_machine_into_ipxe(
    lab_ipmi: tuple[str, int, RunningServer],
) -> None:
    address, port, boot = lab_ipmi
    bmc = driver(address, PASSWORD, username="admin", settings=FAST)
    assert bmc.power_state() is PowerState.OFF
    assert "Chassis Power is off" in _ipmitool(port, "power", "status")
    bmc.set_boot_device(BootDevice.PXE, BootMode.LEGACY)
    assert "Force PXE" in _ipmitool(port, "chassis", "bootparam", "get", "5")
    assert bmc.power(PowerAction.ON) is PowerState.ON
    assert "Chassis Power is on" in _ipmitool(port, "power", "status")
    deadline = time.monotonic() + 120
    while "/boot.ipxe" not in boot.log.paths and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "/boot.ipxe" in boot.log.paths  # real iPXE, network-booted by the flag
    assert "No override" in _ipmitool(port, "chassis", "bootparam", "get", "5")  # one-time
    _ipmitool(port, "power", "off")
    assert bmc.power_state() is PowerState.OFF
