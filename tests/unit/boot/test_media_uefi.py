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
from strata.boot.loaders import GRUB
from strata.boot.media import (
    GRUB_MODULES,
    MARKER,
    MediaError,
    MediaFiles,
    MediaImages,
    media_grub_cfg,
    media_refusal,
)
from strata.ignition import PROFILES
from strata.ignition.recipe import RecipeURLs, grub_config, install_recipe
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


GRUB_DIR = Path("/usr/lib/grub/x86_64-efi")
SHELL_WORDS = {"for", "do", "done", "if", "then", "else", "fi"}  # GRUB's script grammar


def _built_in() -> dict[str, str]:
    """Each command GRUB_MODULES brings into BOOTX64.EFI (with the modules they depend
    on, as grub-mkimage adds them: moddep.lst), and its module (command.lst)."""
    if not (GRUB_DIR / "command.lst").is_file():
        pytest.skip(f"{GRUB_DIR} is missing (apt-get install grub-efi-amd64-bin)")
    lines = (GRUB_DIR / "moddep.lst").read_text().splitlines()
    deps = {line.split(":")[0]: line.split(":")[1].split() for line in lines}
    have, todo = set(), list(GRUB_MODULES)
    while todo:
        module = todo.pop()
        if module not in have:
            have.add(module)
            todo += deps.get(module, [])
    commands = (GRUB_DIR / "command.lst").read_text().splitlines()
    pairs = (line.split(":", 1) for line in commands)
    return {name.lstrip("*"): module.strip() for name, module in pairs if module.strip() in have}


def test_every_command_grub_is_given_is_built_into_the_esp() -> None:
    """The ESP holds no module files: a command whose module is not built in fails with
    "can't find command" (``exit`` once did: a provisioned node never left GRUB)."""
    node, built_in = _uefi(), _built_in()
    plan = dataclasses.replace(node, os_name="flatcar")
    urls = RecipeURLs(f"{BASE}/assets/flatcar/1", f"{BASE}/ignition/x?t=1", f"{BASE}/ign?t=2")
    texts = {
        "image": media_grub_cfg(node, BASE),
        "install": grub_config(install_recipe(plan, PROFILES["flatcar"], urls), node.boot_mac),
        "disk": GRUB.disk(node),
        "unknown": GRUB.unknown(node.boot_mac),
        "failed": GRUB.failed("a reason"),
    }
    for name, text in texts.items():
        words = {line.split()[0] for line in text.splitlines() if line.strip()}
        missing = words - built_in.keys() - SHELL_WORDS - {"#"}
        assert not missing, f"{name}: {sorted(missing)} not built into BOOTX64.EFI"


def test_a_boot_service_grub_cannot_read_is_refused_before_power_on() -> None:
    """https (GRUB has no TLS), a user in the URL, a quote: apply stops before any
    server is powered on, naming the nodes; BIOS nodes (iPXE) are not concerned."""
    uefi = dataclasses.replace(_uefi(), boot_method="virtualmedia")
    bios = dataclasses.replace(uefi, firmware="bios")
    files = MediaFiles(isolinux=Path(__file__), ldlinux=Path(__file__), ipxe=Path(__file__))
    for base in ("https://10.0.2.2:8443", "http://u:p@10.0.2.2:8080", "http://10.0.2.2/x'y"):
        refused = media_refusal([bios, uefi], files, base_url=base)
        assert refused is not None and "lab-worker-1" in refused, base
        assert media_refusal([bios], files, base_url=base) is None
    if not missing_tools():
        assert media_refusal([uefi], files, base_url=BASE) is None
