"""Virtual media on UEFI: the image's second El Torito entry, an ESP whose GRUB reads the
image's config, which asks the boot service's /grub for the node's boot MAC."""

from __future__ import annotations

import dataclasses
import io
import subprocess
from pathlib import Path

import pycdlib
import pytest

from strata.boot.esp import missing_tools
from strata.boot.media import (
    MARKER,
    MediaError,
    MediaFiles,
    MediaImages,
    media_grub_cfg,
    media_refusal,
)
from strata.plan import NodePlan
from tests.support.machine_sim import iso_file
from tests.unit.boot.test_media import BASE, _plan_nodes

UEFI_NODE = "lab-worker-1"


def _uefi(name: str = UEFI_NODE) -> NodePlan:
    return dataclasses.replace(_plan_nodes()[name], firmware="uefi")


def _need_files() -> None:
    try:
        MediaFiles().check(uefi=True)
    except MediaError as exc:
        pytest.skip(str(exc))


def _platforms(data: bytes) -> list[int]:
    """The El Torito catalog's platform IDs: the initial entry's, then each section's."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        catalog = iso.eltorito_boot_catalog
        assert catalog is not None
        return [catalog.validation_entry.platform_id] + [s.platform_id for s in catalog.sections]
    finally:
        iso.close()


def test_the_grub_config_asks_for_the_nodes_own_boot_mac() -> None:
    node = _uefi()
    config = media_grub_cfg(node, BASE + "/")
    wanted = (
        f"  configfile '(http,10.0.2.2:8080)/grub?mac={node.boot_mac}&via=virtual-media"
        "&buildarch=x86_64&platform=efi'"
    )
    assert wanted in config.splitlines()
    assert config.count("net_bootp") == 1 and "for try in 1 2 3" in config
    assert config.splitlines()[-1] == "exit" and "token" not in config


def test_grub_cannot_reach_a_boot_service_behind_https() -> None:
    with pytest.raises(MediaError, match="lab-worker-1: virtual media on UEFI: GRUB reads plain"):
        media_grub_cfg(_uefi(), "https://boot.example:8443")


def test_a_uefi_nodes_image_boots_grub_too(tmp_path: Path) -> None:
    _need_files()
    node, images = _uefi(), MediaImages()
    try:
        data = images.image(node, BASE).path.read_bytes()
        assert _platforms(data) == [0x00, 0xEF]  # BIOS first, then UEFI
        assert iso_file(data, "boot/grub/grub.cfg").decode() == media_grub_cfg(node, BASE)
        assert iso_file(data, MARKER.lstrip("/"))
        esp = tmp_path / "efi.img"
        esp.write_bytes(iso_file(data, "efi.img"))
        listed = subprocess.run(
            ["mdir", "-b", "-i", str(esp), "::/EFI/BOOT"],
            capture_output=True,
            text=True,
            env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout
        assert "BOOTX64.EFI" in listed
        other = images.image(_uefi("lab-cp-0"), BASE).path.read_bytes()
        assert iso_file(other, "efi.img") == esp.read_bytes()  # one ESP serves every node
    finally:
        images.close()


def test_a_bios_nodes_image_has_no_uefi_entry() -> None:
    _need_files()
    node, images = (
        dataclasses.replace(_plan_nodes()["lab-worker-0"], firmware="bios"),
        MediaImages(),
    )
    try:
        assert _platforms(images.image(node, BASE).path.read_bytes()) == [0x00]
    finally:
        images.close()


def test_without_grub_a_uefi_node_is_refused_before_power_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No grub-mkimage on the PATH (the machine's, not Strata's, state): apply says which
    packages, for which nodes, before anything is powered on; a BIOS node needs none."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "grub-mkimage" in missing_tools()
    bios = dataclasses.replace(_uefi(), firmware="bios", boot_method="virtualmedia")
    uefi = dataclasses.replace(_uefi(), boot_method="virtualmedia")
    files = MediaFiles(isolinux=Path(__file__), ldlinux=Path(__file__), ipxe=Path(__file__))
    assert media_refusal([bios], files) is None
    refused = media_refusal([bios, uefi], files)
    assert refused is not None and "grub-efi-amd64-bin" in refused and "lab-worker-1" in refused
