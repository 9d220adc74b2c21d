"""The seed image boots in QEMU (TCG) to Strata's start line on its serial console: as a
CD with SeaBIOS (ISOLINUX), as a USB disk with SeaBIOS (isohybrid MBR, as after ``dd``),
as a CD with OVMF (UEFI: the El Torito EFI entry's GRUB), and as a USB disk with OVMF
(the isohybrid GPT's ESP). The live system is
Debian's kernel and live-boot initrd finding /live/filesystem.squashfs on the medium;
systemd starts strata-seed.service, whose `strata seed start` prints the line first.

Each boot takes a minute or more on 2 cores (TCG); the timeout is only a hang guard.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from strata.seed.image import SeedImage
from tests.integration.seed.conftest import START_LINE, Booted

HANG_GUARD = 900.0  # seconds


def _boots(boot_seed: Callable[[Path, str], Booted], image: SeedImage, how: str) -> str:
    machine = boot_seed(image.path, how)
    seconds = machine.wait_for(START_LINE, HANG_GUARD)
    print(f"{how}: {START_LINE!r} after {seconds:.0f} s")
    return machine.text()


@pytest.mark.slow
def test_the_seed_boots_as_a_cd_with_seabios(
    boot_seed: Callable[[Path, str], Booted], boot_image: SeedImage
) -> None:
    console = _boots(boot_seed, boot_image, "bios-cd")
    assert "ISOLINUX" in console  # the BIOS path: El Torito's ISOLINUX, not GRUB
    assert "Linux version" in console  # the kernel's messages reach the serial port too


@pytest.mark.slow
def test_the_seed_boots_as_a_usb_disk_with_seabios(
    boot_seed: Callable[[Path, str], Booted], boot_image: SeedImage
) -> None:
    console = _boots(boot_seed, boot_image, "bios-usb")
    assert "ISOLINUX" in console  # isohybrid's MBR chain-loads isolinux.bin from the disk


@pytest.mark.slow
def test_the_seed_boots_as_a_cd_with_ovmf(
    boot_seed: Callable[[Path, str], Booted], boot_image: SeedImage
) -> None:
    console = _boots(boot_seed, boot_image, "uefi-cd")
    assert "ISOLINUX" not in console  # the UEFI path: the ESP's GRUB
    assert "Strata seed" in console  # GRUB's menu, on the serial port


@pytest.mark.slow
def test_the_seed_boots_as_a_usb_disk_with_ovmf(
    boot_seed: Callable[[Path, str], Booted], boot_image: SeedImage
) -> None:
    console = _boots(boot_seed, boot_image, "uefi-usb")
    assert "USB HARDDRIVE" in console  # OVMF boots the stick: the GPT's ESP, then GRUB
    assert "ISOLINUX" not in console
