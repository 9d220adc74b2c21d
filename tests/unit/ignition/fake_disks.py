"""A fake machine's disks as the kernel and udev show them: /sys/block, /dev, /run/udev/data.

Laid out as on a real system (Documentation/ABI/testing/sysfs-block; udev's database
``/run/udev/data/bMAJOR:MINOR`` with ``E:KEY=VALUE`` lines; /dev/disk/by-id and by-path
links relative to /dev), so ``root-device.sh`` runs against it with STRATA_SYSFS,
STRATA_DEVDIR and STRATA_UDEVDB pointing here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from strata.ignition.install import resolver_script

SHELLS = ("dash", "busybox")


@dataclass
class FakeDisk:
    name: str  # kernel name: sda, nvme0n1, vda
    size_bytes: int
    model: str | None = None  # sysfs device/model (SCSI: 16 characters at most)
    vendor: str | None = None  # sysfs device/vendor
    serial: str | None = None  # sysfs device/serial (NVMe) or serial (virtio)
    wwid: str | None = None  # sysfs wwid
    rotational: bool = False
    hctl: str | None = None  # device/scsi_device/H:C:T:L
    removable: bool = False
    read_only: bool = False
    virtual: bool = False  # no device link: loop, ram, dm-*, md*
    udev: dict[str, str] = field(default_factory=dict)  # ID_MODEL, ID_SERIAL_SHORT, ID_WWN, …
    links: tuple[str, ...] = ()  # by-id/wwn-0x…, by-path/pci-…: links to /dev/NAME


@dataclass
class Machine:
    root: Path
    disks: list[FakeDisk]

    def build(self) -> Machine:
        for minor, disk in enumerate(self.disks):
            _disk(self.root, disk, minor * 16)
        return self

    def resolve(self, hints: str, shell: str = "dash") -> subprocess.CompletedProcess[str]:
        script = self.root / "root-device"
        script.write_text(resolver_script())
        hints_file = self.root / "hints"
        hints_file.write_text(hints)
        env = {
            "PATH": str(_tools(self.root, shell)),
            "STRATA_SYSFS": str(self.root / "sys"),
            "STRATA_DEVDIR": str(self.root / "dev"),
            "STRATA_UDEVDB": str(self.root / "udev"),
        }
        argv = ["busybox", "sh"] if shell == "busybox" else ["dash"]
        return subprocess.run(
            [shutil.which(argv[0]) or argv[0], *argv[1:], str(script), str(hints_file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )


def _disk(root: Path, disk: FakeDisk, minor: int) -> None:
    block = root / "sys" / "block" / disk.name
    (block / "queue").mkdir(parents=True)
    attrs = {
        "size": str(disk.size_bytes // 512),
        "removable": "1" if disk.removable else "0",
        "ro": "1" if disk.read_only else "0",
        "dev": f"8:{minor}",
        "queue/rotational": "1" if disk.rotational else "0",
    }
    if disk.wwid:
        attrs["wwid"] = disk.wwid
    if not disk.virtual:
        (block / "device").mkdir()
        for name, value in (("model", disk.model), ("vendor", disk.vendor)):
            if value is not None:
                attrs[f"device/{name}"] = value
        if disk.serial is not None:
            attrs["device/serial"] = disk.serial
        if disk.hctl:
            (block / "device" / "scsi_device" / disk.hctl).mkdir(parents=True)
    for name, value in attrs.items():
        (block / name).write_text(value + "\n")
    udev = root / "udev"
    udev.mkdir(exist_ok=True)
    (udev / f"b8:{minor}").write_text("".join(f"E:{k}={v}\n" for k, v in disk.udev.items()))
    dev = root / "dev"
    (dev / "disk" / "by-id").mkdir(parents=True, exist_ok=True)
    (dev / "disk" / "by-path").mkdir(parents=True, exist_ok=True)
    (dev / disk.name).write_text("")
    for link in disk.links:
        os.symlink(f"../../{disk.name}", dev / "disk" / link)


def _tools(root: Path, shell: str) -> Path:
    """A PATH of only what the script may use besides its shell: tr and readlink (and the
    shell's own builtins) — busybox's applets for busybox, coreutils' for dash."""
    bin_dir = root / f"bin-{shell}"
    if not bin_dir.exists():
        bin_dir.mkdir()
        for tool in ("tr", "readlink"):
            target = shutil.which("busybox") if shell == "busybox" else shutil.which(tool)
            assert target, f"{tool} is missing"
            os.symlink(target, bin_dir / tool)
    return bin_dir


def have(shell: str) -> bool:
    return shutil.which(shell) is not None
