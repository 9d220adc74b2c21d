"""The lab's servers: one QEMU process each (TCG), started and stopped by its BMC.

Power on starts QEMU with the boot order the BMC's one-time override asks for
(network for PXE; a CD for ``Cd``; else its disk, which a lab machine does not have);
power off kills it; a reset is an off and an on. The NIC is a tap device on the lab's
provisioning bridge (real DHCP from dnsmasq), or QEMU's user network with a
``bootfile`` where no bridge can be made; ``more_nics`` are taps on other bridges (the
seed's machine has one on the BMC network). The serial console goes to a file.

The seed's machine has the seed image in its drive (``medium``: a USB stick or a CD,
here a CD) and boots from it unless told otherwise, as a person sets its boot order;
its first network boot — the cluster's controller reinstalling it — takes the medium
out, as the person does once the seed has handed the machine over (docs/seed.md).
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
    more_nics: tuple[tuple[str, str], ...] = ()  # (MAC, tap device) after the first
    medium: Path | None = None  # an ISO image in its drive: the seed's, or virtual media
    media_url: str | None = None  # where its BMC read the virtual media in the drive
    virtual_media: bool = True  # its BMC offers a virtual CD
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
            order = self._boot_order()
            self.boot_once = None
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.process = subprocess.Popen(
                self.command(order),
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

    @property
    def macs(self) -> tuple[str, ...]:
        """Every NIC's MAC, the boot NIC's first (what its BMC reports)."""
        return (self.mac, *(mac for mac, _ in self.more_nics))

    def _boot_order(self) -> str:
        """QEMU's ``-boot order=`` for this power-on: ``n`` (network, the medium taken
        out), ``d`` (the medium) or ``c`` (the disk)."""
        if self.boot_once in ("Pxe", "UefiHttp"):
            if self.media_url is None:  # a person's medium: taken out (virtual media stays)
                self.medium = None
            return "n"
        if self.medium is not None and self.boot_once in (None, "Cd"):
            return "d"
        return "c"

    def command(self, order: str) -> list[str]:
        binary = shutil.which("qemu-system-x86_64")
        if binary is None:
            raise MachineError(
                "qemu-system-x86_64 is missing (apt-get install qemu-system-x86 ipxe-qemu)"
            )
        if self.tap is not None:
            netdev = f"tap,id=n0,ifname={self.tap},script=no,downscript=no"
        else:
            netdev = f"user,id=n0,bootfile={self.bootfile}"
        nics = [*("-netdev", netdev, "-device", f"e1000,netdev=n0,mac={self.mac}")]
        for i, (mac, tap) in enumerate(self.more_nics, start=1):
            nics += ["-netdev", f"tap,id=n{i},ifname={tap},script=no,downscript=no"]
            nics += ["-device", f"e1000,netdev=n{i},mac={mac}"]
        drive = ["-drive", f"file={self.medium},media=cdrom,readonly=on,format=raw"]
        return [
            binary,
            *("-machine", "accel=tcg", "-m", str(self.memory_mib), "-display", "none"),
            *("-name", self.name, "-serial", f"file:{self.console}"),
            *nics,
            *(drive if self.medium is not None else ()),
            *("-boot", f"order={order}"),
        ]
