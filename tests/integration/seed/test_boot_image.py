"""The seed image as written: reproducible (two builds of the same inputs, the same
SHA-256, whatever the clock and time zone), its payload read back as given, and the
structures firmware reads to boot it: an ISO 9660 volume (ECMA-119: "CD001" at sector
16), an El Torito boot record (sector 17) whose catalog has a BIOS and an EFI entry, and
the isohybrid MBR (Debian's isohdpfx.bin boot code, 0x55AA) with a GPT (UEFI 2.x, 5.3:
"EFI PART" at LBA 1) for the image written to a USB stick."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pycdlib
import pytest

from strata.seed.image import build_image
from strata.seed.medium import SeedMediumError, read_payload
from strata.seed.rootfs import LiveRoot, SeedBuildError

SECTOR = 2048


def _payload(tmp_path: Path) -> dict[str, bytes | Path]:
    artifact = tmp_path / "flatcar.img"
    artifact.write_bytes(hashlib.sha256(b"a").digest() * 40000)
    return {
        "seed.json": b'{"topology": "abc"}\n',
        "topology.yaml": b"apiVersion: strata.dev/v1alpha1\n",
        "artifacts/flatcar_production_image.bin.bz2": artifact,
    }


@pytest.mark.slow
def test_two_builds_of_the_same_inputs_are_the_same_image(
    seed_root: LiveRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = _payload(tmp_path)
    first = build_image(tmp_path / "a" / "seed.iso", payload, root=seed_root)
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        time.sleep(1.1)  # another second on the clock: no date in the image may move
        second = build_image(tmp_path / "b" / "seed.iso", payload, root=seed_root)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert first.sha256 == second.sha256
    assert first.size == second.size == first.path.stat().st_size
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.size % SECTOR == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    later = build_image(tmp_path / "c" / "seed.iso", payload, root=seed_root)
    assert later.sha256 != first.sha256  # the dates are SOURCE_DATE_EPOCH's


@pytest.mark.slow
def test_the_payload_reads_back_and_the_boot_structures_are_there(
    seed_root: LiveRoot, tmp_path: Path
) -> None:
    payload = _payload(tmp_path)
    image = build_image(tmp_path / "seed.iso", payload, root=seed_root)
    expected = {k: v if isinstance(v, bytes) else v.read_bytes() for k, v in payload.items()}
    assert read_payload(image.path) == expected
    with image.path.open("rb") as disk:
        head = disk.read(18 * SECTOR)
    assert head[16 * SECTOR + 1 : 16 * SECTOR + 6] == b"CD001"
    assert head[17 * SECTOR + 7 : 17 * SECTOR + 30] == b"EL TORITO SPECIFICATION"
    assert head[510:512] == b"\x55\xaa"
    isohdpfx = Path("/usr/lib/ISOLINUX/isohdpfx.bin").read_bytes()
    assert head[:432] == isohdpfx  # Debian's isohybrid boot code, for BIOS from a disk
    assert head[512:520] == b"EFI PART"
    assert os.path.getsize(image.path) >= seed_root.squashfs.stat().st_size


@pytest.mark.slow
def test_the_live_root_holds_what_the_boot_service_hands_out(seed_root: LiveRoot) -> None:
    """iPXE's binaries (DHCP's boot files; virtual media's ipxe.lkrn) and ISOLINUX's, as
    files: Debian's /usr/lib/ipxe/ipxe.{efi,lkrn} link into /boot, which the squashfs
    leaves out (a dangling link served UEFI machines nothing)."""
    listing = subprocess.run(
        ["unsquashfs", "-lls", "-d", "", str(seed_root.squashfs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    kinds = {  # path -> its kind: "-" a file, "l" a link ("PATH -> TARGET")
        line.split(" -> ")[0].split()[-1]: line[0]
        for line in listing.splitlines()
        if line[:1] in ("-", "l")
    }
    for name in (
        "/usr/lib/ipxe/ipxe.efi",
        "/usr/lib/ipxe/ipxe.lkrn",
        "/usr/lib/ipxe/undionly.kpxe",
        "/usr/lib/ISOLINUX/isolinux.bin",
        "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    ):
        assert kinds.get(name) == "-", (name, kinds.get(name))


def test_a_file_that_is_not_a_seed_image_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\0" * 100000)
    with pytest.raises(SeedMediumError, match="not an ISO 9660 image"):
        read_payload(junk)
    with pytest.raises(SeedMediumError, match="no such file"):
        read_payload(tmp_path / "absent.iso")


@pytest.mark.parametrize(
    "names",
    [["/etc/passwd"], ["../seed.json"], ["a//b"], ["x" * 65], ["Seed.json", "seed.json"]],
)
def test_a_bad_payload_name_is_refused_before_anything_is_written(
    names: list[str], tmp_path: Path
) -> None:
    root = LiveRoot(tmp_path / "k", tmp_path / "i", tmp_path / "s", "0" * 64)
    with pytest.raises(SeedBuildError, match="payload name"):
        build_image(tmp_path / "seed.iso", dict.fromkeys(names, b"x"), root=root)
    assert list(tmp_path.iterdir()) == []


def _laid_out(image: Path) -> tuple[int, bool]:
    """The ISO's own size in bytes (without the hybrid padding), and whether the
    builder added ``/gpt-room``."""
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        try:
            iso.get_record(rr_path="/gpt-room")
            filled = True
        except pycdlib.pycdlibexception.PyCdlibInvalidInput:
            filled = False
        return iso.pvd.space_size * SECTOR, filled
    finally:
        iso.close()


@pytest.mark.slow
@pytest.mark.parametrize("before_cylinder", [0, SECTOR, 7 * SECTOR])
def test_the_backup_gpt_never_covers_the_last_file(
    seed_root: LiveRoot, tmp_path: Path, before_cylinder: int
) -> None:
    """The ISO laid out to end ``before_cylinder`` bytes before a cylinder (the hybrid
    padding's unit, 1 MiB): shorter than the backup GPT, which pycdlib writes over the
    image's last 16.5 KiB. The last file of the payload reads back whole."""
    artifact = tmp_path / "flatcar.img"
    size = 40 * SECTOR
    for _ in range(4):  # a first layout without the builder's filler
        artifact.write_bytes(b"\x5a" * size)
        payload = {"artifacts/flatcar.img": artifact}
        data, filled = _laid_out(build_image(tmp_path / "probe.iso", payload, root=seed_root).path)
        if not filled:
            break
        size += 64 * 1024
    cylinder = 64 * 32 * 512
    size += (data // cylinder + 2) * cylinder - before_cylinder - data
    artifact.write_bytes(bytes(range(256)) * (size // 256))
    image = build_image(tmp_path / "seed.iso", {"artifacts/flatcar.img": artifact}, root=seed_root)
    _, filled = _laid_out(image.path)
    assert read_payload(image.path) == {"artifacts/flatcar.img": artifact.read_bytes()}
    with image.path.open("rb") as disk:
        disk.seek(-512, os.SEEK_END)
        assert disk.read(8) == b"EFI PART"  # the backup GPT header in the last LBA
    assert filled  # the builder made room: its layout alone would have been covered
