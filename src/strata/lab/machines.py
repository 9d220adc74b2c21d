"""The lab's servers: one QEMU process each (TCG), started and stopped by its BMC.

Power on starts QEMU with the boot order the BMC's one-time override asks for
(network for PXE; else its disk, which a lab machine does not have); power off
kills it; a reset is an off and an on. The NIC is a tap device on the lab's
provisioning bridge (real DHCP from dnsmasq), or QEMU's user network with a
``bootfile`` where no bridge can be made. The serial console goes to a file.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from strata.boot.dhcp import die_with_parent
from strata.errors import StrataError

__all__ = ["LabMachine", "MachineError"]


class MachineError(StrataError):
    """A lab machine (its QEMU process) could not be started or stopped."""

    kind = "lab-machine"


@dataclass
class LabMachine:
    name: str
    mac: str
    workdir: Path
    tap: str | None = None  # a tap device on the provisioning bridge
    bootfile: str | None = None  # with user networking: the iPXE script URL
    memory_mib: int = 512
    boot_once: str | None = None  # Redfish BootSourceOverrideTarget, consumed at power-on
    boot_mode: str = "UEFI"
    process: subprocess.Popen[bytes] | None = None
    power_ons: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def on(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def console(self) -> Path:
        return self.workdir / f"{self.name}.console.log"

    def power_on(self) -> None:
        with self._lock:
            if self.on:
                return
            network = self.boot_once in ("Pxe", "UefiHttp")
            self.boot_once = None
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.process = subprocess.Popen(
                self.command(network),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=(self.workdir / f"{self.name}.qemu.log").open("ab"),
                preexec_fn=die_with_parent,  # a machine never outlives its BMC service
            )
            self.power_ons += 1

    def power_off(self) -> None:
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def reset(self) -> None:
        self.power_off()
        self.power_on()

    def command(self, network: bool) -> list[str]:
        binary = shutil.which("qemu-system-x86_64")
        if binary is None:
            raise MachineError(
                "qemu-system-x86_64 is missing (apt-get install qemu-system-x86 ipxe-qemu)"
            )
        if self.tap is not None:
            netdev = f"tap,id=n0,ifname={self.tap},script=no,downscript=no"
        else:
            netdev = f"user,id=n0,bootfile={self.bootfile}"
        return [
            binary,
            *("-machine", "accel=tcg", "-m", str(self.memory_mib), "-display", "none"),
            *("-name", self.name, "-serial", f"file:{self.console}"),
            *("-netdev", netdev, "-device", f"e1000,netdev=n0,mac={self.mac}"),
            *("-boot", "order=n" if network else "order=c"),
        ]
