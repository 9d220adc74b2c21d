"""The lab's servers: one QEMU process each (TCG), started and stopped by its BMC.

Power on starts QEMU with the boot order the BMC's one-time override asks for
(network for PXE; a CD for ``Cd``; else its disk, which a lab machine does not have);
power off kills it; a reset is an off and an on. The firmware is SeaBIOS (it boots in
about half the time of OVMF under TCG), except where only UEFI firmware will do: a
``UefiHttp`` override, and a ``Cd`` override in mode ``UEFI`` (virtual media on UEFI).
Those power-ons run OVMF (Debian's ``ovmf``) with PXE switched off and a virtio NIC
without iPXE's ROM, so the firmware's own HTTP Boot client, or the CD's own boot loader,
brings the network up.
The NIC is a tap device on the lab's provisioning bridge (real DHCP from dnsmasq), or
QEMU's user network with a ``bootfile`` where no bridge can be made; ``more_nics`` are
taps on other bridges (the seed's machine has one on the BMC network). The serial console goes to a file.

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

__all__ = ["OVMF_CODE", "OVMF_VARS", "LabMachine", "MachineError"]

# Debian's ovmf, its 4 MiB build (the one Debian keeps): the firmware, and the template
# of its variable store
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")


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
            uefi = self.boot_once == "UefiHttp" or (
                self.boot_once == "Cd" and self.boot_mode == "UEFI"
            )
            order = self._boot_order()
            self.boot_once = None
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.process = subprocess.Popen(
                self.command(order, uefi=uefi),
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

    def command(self, order: str, *, uefi: bool = False) -> list[str]:
        """QEMU's command line for a power-on: ``order`` as ``_boot_order`` gives it;
        ``uefi``: OVMF, with a boot NIC its own drivers run (``uefi_firmware``)."""
        binary = shutil.which("qemu-system-x86_64")
        if binary is None:
            raise MachineError(
                "qemu-system-x86_64 is missing (apt-get install qemu-system-x86 ipxe-qemu)"
            )
        if self.tap is not None:
            netdev = f"tap,id=n0,ifname={self.tap},script=no,downscript=no"
        else:
            netdev = f"user,id=n0,bootfile={self.bootfile}"
        boot_nic = f"e1000,netdev=n0,mac={self.mac}"
        if uefi:  # no option ROM: OVMF's own network stack, not iPXE's
            boot_nic = f"virtio-net-pci,netdev=n0,mac={self.mac},romfile="
        nics = [*("-netdev", netdev, "-device", boot_nic)]
        for i, (mac, tap) in enumerate(self.more_nics, start=1):
            nics += ["-netdev", f"tap,id=n{i},ifname={tap},script=no,downscript=no"]
            nics += ["-device", f"e1000,netdev=n{i},mac={mac}"]
        drive = ["-drive", f"file={self.medium},media=cdrom,readonly=on,format=raw"]
        return [
            binary,
            *("-machine", "accel=tcg", "-m", str(self.memory_mib), "-display", "none"),
            *(self.uefi_firmware() if uefi else ()),
            *("-name", self.name, "-serial", f"file:{self.console}"),
            *nics,
            *(drive if self.medium is not None else ()),
            *("-boot", f"order={order}"),
        ]

    def uefi_firmware(self) -> list[str]:
        """OVMF: its code read-only, a variable store of the machine's own (copied once
        into its work directory), PXE off through OVMF's fw_cfg knobs
        (``opt/org.tianocore/IPv4PXESupport``), so the network boot it tries is HTTP
        Boot, which asks DHCP as client architecture 16. ``MachineError`` without OVMF."""
        if not (OVMF_CODE.is_file() and OVMF_VARS.is_file()):
            raise MachineError(
                f"{OVMF_CODE} is missing: a UEFI boot needs OVMF (apt-get install ovmf)"
            )
        variables = self.workdir / f"{self.name}.OVMF_VARS.fd"
        if not variables.exists():
            shutil.copyfile(OVMF_VARS, variables)
        return [
            *("-machine", "q35"),
            *("-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}"),
            *("-drive", f"if=pflash,format=raw,file={variables}"),
            *("-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"),
            *("-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"),
        ]
