"""The seed's one hybrid image: a CD image (ISO 9660 with Rock Ridge and Joliet) that
boots from a CD or virtual CD on BIOS (El Torito, Debian's ISOLINUX) and on UEFI
(El Torito EFI entry: a FAT ESP with Debian's GRUB EFI), and, written with ``dd``,
from a USB stick (isohybrid: Debian's isohdpfx.bin MBR plus a GPT naming the ESP).

Layout on the medium::

    /isolinux/   isolinux.bin, ldlinux.c32, isolinux.cfg, boot.cat (El Torito catalog)
    /efi.img     the ESP: EFI/BOOT/BOOTX64.EFI (grub-mkimage) in a FAT image (mtools)
    /boot/grub/grub.cfg
    /live/       vmlinuz, initrd.img, filesystem.squashfs (live-boot(7)'s default path),
                 seed-<digest>: the file GRUB's ``search`` finds this medium by
    /strata/     the payload (S2's topology, manifest, sealed secrets, artifacts)

Reproducible: every date in the image is SOURCE_DATE_EPOCH (default 2026-01-01), files
go in in sorted order, the MBR id and GPT GUIDs derive from the inputs' digest; GRUB is
made with ``grub-mkimage`` and an embedded config, not ``grub-mkstandalone``, whose
memdisk tar carries the build's time. Written with pycdlib (ISO 9660, ECMA-119;
El Torito 1.0; Rock Ridge RRIP 1.09).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pycdlib

from strata.seed import boot_files
from strata.seed.reproducible import fixed_clock
from strata.seed.rootfs import LiveRoot, SeedBuildError, source_date_epoch, stderr_progress

__all__ = ["PAYLOAD_DIR", "SeedImage", "build_image"]

PAYLOAD_DIR = "strata"
VOLUME = "STRATA_SEED"
GPT_BACKUP = (32 + 1) * 512  # the backup GPT: 128 entries of 128 bytes, then its header
GPT_ROOM = 64 * 1024  # the filler's margin past what was short


@dataclass(frozen=True)
class SeedImage:
    """A built seed image: its path, size in bytes and hex SHA-256."""

    path: Path
    size: int
    sha256: str


def build_image(
    output: Path,
    payload: Mapping[str, bytes | Path],
    *,
    root: LiveRoot,
    progress: Callable[[str], None] = stderr_progress,
) -> SeedImage:
    """Write the hybrid image to ``output`` (atomically: a temporary file beside it,
    then renamed) with ``payload`` under /strata/ (keys are relative POSIX paths such as
    ``seed.json`` or ``artifacts/flatcar.img``; values the bytes or a file to copy).
    Raises SeedBuildError for a bad payload name (absolute, with . or .. parts, parts
    over 64 characters, two names differing only in case) or a missing boot loader."""
    names = sorted(payload)
    _check_names(names)
    files = boot_files.locate()
    epoch = source_date_epoch()
    seed = _digest(root, payload)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".seed-") as tmp:
        work = Path(tmp)
        progress("seed: GRUB EFI and its FAT ESP (grub-mkimage, mtools)")
        esp = boot_files.esp(work, f"seed-{root.digest[:16]}", epoch)
        layout = _Layout(root, {name: payload[name] for name in names}, files, esp, epoch, seed)
        progress(f"seed: {len(names)} payload files under /{PAYLOAD_DIR}/; writing {output.name}")
        written = work / "seed.iso"
        short = _write_iso(layout, written, filler=0)
        # the backup GPT would cover the layout's last blocks: again, with room
        if short and _write_iso(layout, written, filler=short + GPT_ROOM):
            raise SeedBuildError("the backup GPT would overwrite the image's last blocks")
        sha256 = _sha256(written)
        os.replace(written, output)
    image = SeedImage(output, output.stat().st_size, sha256)
    progress(f"seed: {output} {image.size / 2**20:.0f} MiB sha256 {sha256[:16]}")
    return image


@dataclass(frozen=True)
class _Layout:
    """What goes into the image, in order."""

    root: LiveRoot
    payload: Mapping[str, bytes | Path]  # sorted by name
    files: boot_files.BootFiles
    esp: Path
    epoch: int
    seed: str  # the inputs' digest: the MBR id and GPT GUIDs derive from it


def _write_iso(layout: _Layout, written: Path, filler: int) -> int:
    """The hybrid image written to ``written`` (with ``filler`` zero bytes in
    ``/gpt-room``); returns how many bytes short the padding after the ISO's last block
    was of the backup GPT's room (0: none).

    pycdlib (1.22) pads a hybrid image to a whole cylinder (64 heads x 32 sectors x 512
    bytes) and writes the backup GPT (UEFI 2.x, 5.3: the header in the last LBA, the 128
    partition entries before it: ``GPT_BACKUP`` bytes) over the image's last bytes —
    over the ISO's own last blocks when the padding is shorter (seen: the last 14,848
    bytes of a payload file overwritten). A second write with a filler file moves the
    ISO's end away from the cylinder's."""
    marker = f"seed-{layout.root.digest[:16]}"
    iso = pycdlib.PyCdlib()
    with fixed_clock(layout.epoch, layout.seed):
        iso.new(interchange_level=4, joliet=3, rock_ridge="1.09", vol_ident=VOLUME)
        _add_boot(iso, layout.files, layout.esp, marker)
        _add_live(iso, layout.root, marker)
        _add_payload(iso, layout.payload)
        if filler:
            _file(iso, "/gpt-room", bytes(filler), set())
        iso.add_eltorito(
            "/ISOLINUX/ISOLINUX.BIN",
            bootcatfile="/ISOLINUX/BOOT.CAT",
            rr_bootcatname="boot.cat",
            joliet_bootcatfile="/isolinux/boot.cat",
            boot_load_size=4,
            boot_info_table=True,
        )
        iso.add_eltorito("/EFI.IMG", efi=True, media_name="noemul")
        iso.add_isohybrid(efi=True, mbr_id=int(layout.seed[:8], 16))
        _use_debian_mbr(iso, layout.files.isohdpfx)
        iso.write(str(written))
        data = iso.pvd.space_size * iso.logical_block_size  # the ISO, without padding
        iso.close()
    padding = written.stat().st_size - data
    return max(0, GPT_BACKUP - padding)


def _check_names(names: list[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        _check_name(name)
        other = seen.setdefault(name.upper(), name)
        if other != name:  # the ISO 9660 names are upper case
            raise SeedBuildError(f"payload names {other!r} and {name!r} differ only in case")


def _check_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SeedBuildError(f"payload name {name!r}: a relative path without . or .. parts")
    if any(len(p) > 64 for p in parts):
        raise SeedBuildError(f"payload name {name!r}: parts of at most 64 characters (Joliet)")


def _digest(root: LiveRoot, payload: Mapping[str, bytes | Path]) -> str:
    """Names the build's inputs: the seed of the MBR id and the GPT GUIDs."""
    hasher = hashlib.sha256(root.digest.encode())
    for name in sorted(payload):
        value = payload[name]
        hasher.update(name.encode() + b"\0")
        hasher.update(
            hashlib.sha256(value).digest() if isinstance(value, bytes) else _sha256(value).encode()
        )
    return hasher.hexdigest()


def _dirs(iso: pycdlib.PyCdlib, path: str, made: set[str]) -> None:
    """Each directory of ``path`` (a POSIX path on the medium), parents first."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        directory = "/" + "/".join(parts[:depth])
        if directory in made:
            continue
        made.add(directory)
        iso.add_directory(directory.upper(), rr_name=parts[depth - 1], joliet_path=directory)


def _file(iso: pycdlib.PyCdlib, path: str, source: Path | bytes, made: set[str]) -> None:
    parent, _, name = path.rpartition("/")
    if parent:
        _dirs(iso, parent, made)
    if isinstance(source, bytes):
        iso.add_fp(
            io.BytesIO(source), len(source), path.upper(), rr_name=name, joliet_path=path,
            file_mode=0o100444,
        )  # fmt: skip
    else:
        iso.add_file(str(source), path.upper(), rr_name=name, joliet_path=path, file_mode=0o100444)


def _add_boot(iso: pycdlib.PyCdlib, files: boot_files.BootFiles, esp: Path, marker: str) -> None:
    made: set[str] = set()
    _file(iso, "/efi.img", esp, made)
    _file(iso, "/boot/grub/grub.cfg", boot_files.grub_cfg(marker).encode(), made)
    _file(iso, "/isolinux/isolinux.bin", files.isolinux, made)
    _file(iso, "/isolinux/isolinux.cfg", boot_files.isolinux_cfg().encode(), made)
    _file(iso, "/isolinux/ldlinux.c32", files.ldlinux, made)


def _add_live(iso: pycdlib.PyCdlib, root: LiveRoot, marker: str) -> None:
    made: set[str] = set()
    _file(iso, "/live/filesystem.squashfs", root.squashfs, made)
    _file(iso, "/live/initrd.img", root.initrd, made)
    _file(iso, f"/live/{marker}", root.digest.encode() + b"\n", made)
    _file(iso, "/live/vmlinuz", root.kernel, made)


def _add_payload(iso: pycdlib.PyCdlib, payload: Mapping[str, bytes | Path]) -> None:
    made: set[str] = set()
    for name, value in payload.items():
        _file(iso, f"/{PAYLOAD_DIR}/{name}", value, made)


def _use_debian_mbr(iso: pycdlib.PyCdlib, isohdpfx: Path) -> None:
    """The boot code of Debian's isohdpfx.bin, the one made for this isolinux.bin
    (pycdlib carries an older copy): its first 32 bytes are the header, then 400 of code."""
    code = isohdpfx.read_bytes()
    if len(code) != 432:
        raise SeedBuildError(f"{isohdpfx}: 432 bytes expected (syslinux's isohdpfx.bin)")
    hybrid = iso.isohybrid_mbr
    assert hybrid is not None
    hybrid.header, hybrid.mbr = code[:32], code[32:]


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()
