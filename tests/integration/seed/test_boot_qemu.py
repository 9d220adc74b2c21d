"""The seed image boots in QEMU (TCG) to Strata's start line on its serial console: as a
CD with SeaBIOS (ISOLINUX), as a USB disk with SeaBIOS (isohybrid MBR, as after ``dd``),
as a CD with OVMF (UEFI: the El Torito EFI entry's GRUB), and as a USB disk with OVMF
(the isohybrid GPT's ESP). The live system is
Debian's kernel and live-boot initrd finding /live/filesystem.squashfs on the medium;
systemd starts strata-seed.service, whose `strata seed start` prints the line first.

Each boot takes a minute or more on 2 cores (TCG), the four at once; the timeout is
only a hang guard.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from strata.seed.image import SeedImage
from tests.integration.seed.conftest import START_LINE, Booted, booted_at_once, qemu_command

HANG_GUARD = 900.0  # seconds
WAYS = ("bios-cd", "bios-usb", "uefi-cd", "uefi-usb")


@pytest.fixture(scope="module")
def machines(
    boot_image: SeedImage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Booted]]:
    """The four ways, booted at once."""
    work = tmp_path_factory.mktemp("seed-boots")
    commands = {}
    for how in WAYS:
        (work / how).mkdir()
        commands[how] = qemu_command(boot_image.path, how, work / how)
    with booted_at_once(commands, work) as booted:
        yield booted


def _boots(machines: dict[str, Booted], how: str) -> str:
    seconds = machines[how].wait_for(START_LINE, HANG_GUARD)
    print(f"{how}: {START_LINE!r} after {seconds:.0f} s")
    return machines[how].text()


@pytest.mark.slow
def test_the_seed_boots_as_a_cd_with_seabios(machines: dict[str, Booted]) -> None:
    console = _boots(machines, "bios-cd")
    assert "ISOLINUX" in console  # the BIOS path: El Torito's ISOLINUX, not GRUB
    assert "Linux version" in console  # the kernel's messages reach the serial port too


@pytest.mark.slow
def test_the_seed_boots_as_a_usb_disk_with_seabios(machines: dict[str, Booted]) -> None:
    console = _boots(machines, "bios-usb")
    assert "ISOLINUX" in console  # isohybrid's MBR chain-loads isolinux.bin from the disk


@pytest.mark.slow
def test_the_seed_boots_as_a_cd_with_ovmf(machines: dict[str, Booted]) -> None:
    console = _boots(machines, "uefi-cd")
    assert "ISOLINUX" not in console  # the UEFI path: the ESP's GRUB
    assert "Strata seed" in console  # GRUB's menu, on the serial port


@pytest.mark.slow
def test_the_seed_boots_as_a_usb_disk_with_ovmf(machines: dict[str, Booted]) -> None:
    console = _boots(machines, "uefi-usb")
    assert "USB HARDDRIVE" in console  # OVMF boots the stick: the GPT's ESP, then GRUB
    assert "ISOLINUX" not in console
