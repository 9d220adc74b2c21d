"""The seed image's boot loaders, all Debian's: ISOLINUX for BIOS (packages isolinux,
syslinux-common), GRUB for UEFI in a FAT ESP (``strata.boot.esp``), and their two menus.

Both menus boot the same kernel line; they differ in which console is the kernel's last
``console=``, the one /dev/console (and so ``strata seed start``) is on
(kernel-parameters.txt, "console="): the default entry the serial port (ttyS0, what a
BMC's serial-over-LAN shows and what a headless test reads), "screen" the screen (tty0).
Kernel messages go to both either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strata.boot.esp import EspError, build_esp, missing_tools
from strata.seed.rootfs import SeedBuildError

__all__ = ["BootFiles", "esp", "grub_cfg", "isolinux_cfg", "kernel_args", "locate"]

# live-boot(7): boot=live finds /live/filesystem.squashfs on any block device and mounts
# the medium at /run/live/medium.
LIVE_ARGS = "boot=live"
SERIAL = "ttyS0,115200n8"
MENU = (("seed", "Strata seed", True), ("screen", "Strata seed, console on the screen", False))
# GRUB's modules, built into BOOTX64.EFI (the ESP holds nothing else).
GRUB_MODULES = (
    *("part_gpt", "part_msdos", "iso9660", "fat", "search", "search_fs_file", "linux"),
    *("normal", "configfile", "serial", "terminal", "echo", "test", "all_video", "gzio"),
)


@dataclass(frozen=True)
class BootFiles:
    """Debian's boot loader files this machine has."""

    isolinux: Path
    ldlinux: Path
    isohdpfx: Path


def locate() -> BootFiles:
    """The boot loader files and tools, or SeedBuildError naming the packages to install."""
    files = BootFiles(
        isolinux=Path("/usr/lib/ISOLINUX/isolinux.bin"),
        ldlinux=Path("/usr/lib/syslinux/modules/bios/ldlinux.c32"),
        isohdpfx=Path("/usr/lib/ISOLINUX/isohdpfx.bin"),
    )
    missing = [str(p) for p in (files.isolinux, files.ldlinux, files.isohdpfx) if not p.exists()]
    missing += missing_tools()
    if missing:
        raise SeedBuildError(
            f"missing {', '.join(missing)}: apt-get install isolinux syslinux-common "
            "grub-efi-amd64-bin grub-common mtools dosfstools"
        )
    return files


def kernel_args(screen: bool) -> str:
    """The kernel line: live-boot, and the consoles with the one for Strata last."""
    consoles = (f"console={SERIAL}", "console=tty0")
    return " ".join((LIVE_ARGS, *(consoles if screen else reversed(consoles))))


def isolinux_cfg() -> str:
    """syslinux.cfg(5) for ISOLINUX: a prompt on the screen and the serial port, 3 s."""
    lines = ["SERIAL 0 115200", "DEFAULT seed", "PROMPT 1", "TIMEOUT 30"]
    lines.append("SAY Strata seed: booting in 3 s; type 'screen' for Strata on the screen.")
    for label, _title, default in MENU:
        lines += [
            f"LABEL {label}",
            "  KERNEL /live/vmlinuz",
            f"  APPEND initrd=/live/initrd.img {kernel_args(screen=not default)}",
        ]
    return "\n".join(lines) + "\n"


def grub_cfg(marker: str) -> str:
    """GRUB's menu (/boot/grub/grub.cfg on the medium), on the screen and serial port."""
    lines = [
        "serial --unit=0 --speed=115200",
        "terminal_input console serial",
        "terminal_output console serial",
        "set timeout=3",
        "set default=0",
        f"search --no-floppy --set=root --file /live/{marker}",
    ]
    for _label, title, default in MENU:
        lines += [
            f'menuentry "{title}" {{',
            f"  linux /live/vmlinuz {kernel_args(screen=not default)}",
            "  initrd /live/initrd.img",
            "}",
        ]
    return "\n".join(lines) + "\n"


def esp(work: Path, marker: str, epoch: int) -> Path:
    """The EFI system partition image (``strata.boot.esp``): a GRUB that finds this
    medium by ``/live/{marker}`` and reads the medium's /boot/grub/grub.cfg."""
    try:
        return build_esp(work, f"/live/{marker}", GRUB_MODULES, epoch)
    except EspError as exc:
        raise SeedBuildError(str(exc)) from exc
