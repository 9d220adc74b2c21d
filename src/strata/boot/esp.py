"""An EFI system partition image holding GRUB: what a CD boots on UEFI firmware.

UEFI boots a CD through its El Torito entry for platform 0xEF, an image of a FAT file
system (UEFI 2.x, "Removable Media Boot Behavior"), and runs its
``EFI/BOOT/BOOTX64.EFI``. Here that is Debian's GRUB (grub-efi-amd64-bin:
``grub-mkimage``, every module it needs built in, so the ESP holds nothing else) with an
embedded early config, which finds the medium by a marker file and reads the medium's
own ``/boot/grub/grub.cfg``. The FAT image is made with dosfstools' ``mkfs.fat`` and
mtools. The seed image and the virtual media image (``strata.boot.media``) use it.

Not ``grub-mkstandalone``: its memdisk would carry every module, several MiB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from strata.errors import StrataError

__all__ = ["GRUB_EFI_DIR", "EspError", "build_esp", "missing_tools"]

GRUB_EFI_DIR = Path("/usr/lib/grub/x86_64-efi")  # grub-efi-amd64-bin's modules
PACKAGES = "grub-efi-amd64-bin grub-common mtools dosfstools"
TOOLS = ("grub-mkimage", "mkfs.fat", "mmd", "mcopy")
ESP_KIB = 4096
ESP_VOLUME_ID = "5354524b"  # "STRK": fixed, as mkfs.fat --invariant wants


class EspError(StrataError):
    """The ESP could not be built: a tool or GRUB module is missing, or a tool failed."""

    kind = "esp"


def missing_tools() -> list[str]:
    """The tools and module directory an ESP needs that this machine lacks (by name)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not (GRUB_EFI_DIR / "linux.mod").exists():
        missing.append(str(GRUB_EFI_DIR))
    return missing


def build_esp(
    work: Path, marker: str, modules: Iterable[str], epoch: int, *, prefix: str = "/boot/grub"
) -> Path:
    """``work/efi.img``: a FAT image with ``EFI/BOOT/BOOTX64.EFI``, a GRUB with
    ``modules`` built in whose embedded config sets ``root`` to the medium holding the
    file ``marker`` (an absolute path on it) and ``prefix`` to ``prefix`` there, so
    GRUB's normal mode reads ``prefix``/grub.cfg from the medium. File dates are
    ``epoch`` (unix seconds) in UTC: the same inputs give the same bytes. Raises
    ``EspError`` naming the packages when a tool is missing, or a tool's error."""
    missing = missing_tools()
    if missing:
        raise EspError(f"missing {', '.join(missing)}: apt-get install {PACKAGES}")
    early = work / "early.cfg"
    early.write_text(f"search --no-floppy --set=root --file {marker}\nset prefix=($root){prefix}\n")
    grub = work / "BOOTX64.EFI"
    _run(
        "grub-mkimage", "-O", "x86_64-efi", "-o", str(grub), "-p", prefix,
        "-c", str(early), *modules,
    )  # fmt: skip
    os.utime(grub, (epoch, epoch))
    image = work / "efi.img"
    # FAT keeps local times (Microsoft's FAT specification, "Date and time formats"): in UTC
    # here, so the image is the same whatever the build machine's time zone
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "MTOOLS_SKIP_CHECK": "1", "TZ": "UTC"}
    _run("mkfs.fat", "--invariant", "-i", ESP_VOLUME_ID, "-n", "ESP", "-C", str(image),
         str(ESP_KIB), env=env)  # fmt: skip
    _run("mmd", "-i", str(image), "::/EFI", "::/EFI/BOOT", env=env)
    _run("mcopy", "-m", "-i", str(image), str(grub), "::/EFI/BOOT/BOOTX64.EFI", env=env)
    os.utime(image, (epoch, epoch))
    return image


def _run(*command: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        list(command), capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env
    )
    if done.returncode != 0:
        raise EspError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
