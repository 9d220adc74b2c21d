"""Virtual media: the boot image a BMC inserts as a virtual CD, one per node.

On BIOS the image is iPXE started by ISOLINUX (El Torito, no emulation: ``isolinux.bin``,
``ldlinux.c32``, Debian's ``ipxe.lkrn``) with a script as its initrd, which
``ipxe.lkrn`` runs (iPXE's runtime support for images given by the loader). The
script brings the network up with DHCP and chains to the boot service's ``/ipxe`` for
the node's boot MAC, so the machine gets exactly what a network boot gets: the install
script of its attempt open at that moment, with that attempt's tokens, or the boot
from disk once it is provisioned.

On UEFI (a node with ``firmware: uefi``) the image has a second El Torito entry, for
platform 0xEF: an ESP whose GRUB (``strata.boot.esp``) reads the image's
``/boot/grub/grub.cfg``, which brings the network up (``net_bootp``) and reads the
boot service's ``/grub`` for the node's boot MAC: the same recipe, attempt and tokens
in GRUB's words (``strata.boot.loaders``). GRUB and not iPXE there: Debian's iPXE for
EFI (2019) takes no script from the medium it was started from (no ``autoexec.ipxe``,
no command line; started from a CD it says "Nothing to boot"), while GRUB's ``http``
module reads the boot service as iPXE does (plain HTTP only: a boot service behind
``https://`` cannot serve it).

Either way the image holds no secret and does not change with the attempt; it is
built when a BMC first asks for it and kept, at most ``KEEP`` images, in a directory
only this process reads. Why a loader and not the OS's kernel and initrd on the image:
a Flatcar or CoreOS live initrd is hundreds of MiB, and the attempt's tokens would
have to be written into every copy; the image is under 1 MiB (5 MiB with the ESP) and
the tokens stay with the boot service.

The URL a BMC is given carries a media token (``TokenSigner.issue_media``) that ends
with the attempt's lifetime: ``{base}/media/{node}.iso?token=…`` (``media_url``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pycdlib

from strata.boot.assets import Asset
from strata.boot.esp import EspError, build_esp, missing_tools
from strata.boot.tokens import TokenSigner
from strata.errors import StrataError
from strata.ignition import BuildError
from strata.ignition.recipe import grub_path, grub_word
from strata.plan import NodePlan
from strata.topology.bmc_schemes import VIRTUAL_MEDIA

__all__ = [
    "KEEP",
    "MediaError",
    "MediaFiles",
    "MediaImages",
    "media_grub_cfg",
    "media_links",
    "media_refusal",
    "media_script",
    "media_url",
]

KEEP = 256  # images kept on disk (about 0.5 MiB each); the oldest used goes first
VIA = "virtual-media"  # what the chain tells /ipxe: the road this machine took
TRIES = 24  # chain attempts, 5 s apart, before iPXE gives up (a boot service moving)
MARKER = "/strata-media.txt"  # the file GRUB's early config finds the image by
# GRUB's modules in the ESP's BOOTX64.EFI: the medium, the menu's commands, the network
GRUB_MODULES = (
    *("iso9660", "search", "search_fs_file", "normal", "configfile", "echo", "test", "sleep"),
    *("serial", "terminal", "linux", "all_video", "gzio", "efinet", "net", "http"),
    "minicmd",  # exit: back to the firmware (a provisioned node, the loop's end)
)
ESP_EPOCH = 1_577_836_800  # 2020-01-01: the ESP's file dates, fixed so its bytes are too


class MediaError(StrataError):
    """A virtual media image cannot be built: a boot loader file is missing."""

    kind = "virtual-media"


@dataclass(frozen=True, slots=True)
class MediaFiles:
    """Debian's files the image is made of (packages isolinux, syslinux-common, ipxe)."""

    isolinux: Path = Path("/usr/lib/ISOLINUX/isolinux.bin")
    ldlinux: Path = Path("/usr/lib/syslinux/modules/bios/ldlinux.c32")
    ipxe: Path = Path("/usr/lib/ipxe/ipxe.lkrn")

    def check(self, uefi: bool = False) -> None:
        """``MediaError`` naming each missing file and the packages that hold them;
        ``uefi``: GRUB's and the ESP's too (``strata.boot.esp``)."""
        missing = [str(p) for p in (self.isolinux, self.ldlinux, self.ipxe) if not p.is_file()]
        packages = "isolinux syslinux-common ipxe"
        if uefi and missing_tools():
            missing += missing_tools()
            packages += " grub-efi-amd64-bin grub-common mtools dosfstools"
        if missing:
            raise MediaError(
                f"virtual media needs {', '.join(missing)}: apt-get install {packages}"
            )


def media_refusal(
    nodes: Iterable[NodePlan], files: MediaFiles | None = None, base_url: str | None = None
) -> str | None:
    """Before any server is powered on: why the images of ``nodes`` that boot from
    virtual media could not be built (a missing file, and for which nodes; with
    ``base_url``, the boot service's, a URL GRUB cannot read for a UEFI node), or None."""
    chosen = [n for n in nodes if VIRTUAL_MEDIA in n.boot_methods]
    names = [n.name for n in chosen]
    uefi = [n for n in chosen if n.firmware == "uefi"]
    try:
        if chosen:
            (files or MediaFiles()).check(uefi=bool(uefi))
        if uefi and base_url is not None:
            media_grub_cfg(uefi[0], base_url)  # the same URL for every node
    except MediaError as exc:
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        return f"{exc} (for {', '.join(names[:5])}{more})"
    return None


def media_url(base_url: str, signer: TokenSigner, node: str, expires: int) -> str:
    """Where ``node``'s BMC reads its image: the boot service's ``/media`` route with a
    media token valid until ``expires`` (unix seconds)."""
    token = signer.issue_media(node, expires)
    return f"{base_url.rstrip('/')}/media/{node}.iso?token={token}"


def media_links(base_url: str, token_key: Callable[[], bytes]) -> Callable[[str, int], str]:
    """``media_url`` for a boot service at ``base_url`` whose tokens are signed with the
    key ``token_key()`` gives (read once, when the first link is made): what the
    controller is handed (``ApplyOptions.media_url``), as it may not sign tokens itself."""

    @functools.cache
    def signer() -> TokenSigner:
        return TokenSigner(token_key())

    return lambda node, expires: media_url(base_url, signer(), node, expires)


def media_script(node: NodePlan, base_url: str) -> str:
    """The iPXE script on ``node``'s image: DHCP on any NIC, then ``/ipxe`` for the node's
    boot MAC, asked again every 5 s for 2 minutes while the service cannot answer (as
    the network boot's chain does), then back to the firmware."""
    chain = (
        f"chain {base_url.rstrip('/')}/ipxe?mac={node.boot_mac}&via={VIA}"
        "&buildarch=${buildarch}&platform=${platform}"
    )
    step = f"dhcp && {chain} && exit ||\nsleep 5\n"
    return f"#!ipxe\n# Strata virtual media for {node.name}\n" + step * TRIES + "exit\n"


def media_grub_cfg(node: NodePlan, base_url: str) -> str:
    """The GRUB config on ``node``'s image (UEFI): DHCP on every NIC, then ``/grub`` for
    the node's boot MAC, asked again every 5 s for 2 minutes as ``media_script`` does,
    then back to the firmware. ``MediaError`` for a boot service GRUB cannot read."""
    query = f"mac={node.boot_mac}&via={VIA}&buildarch=x86_64&platform=efi"
    try:
        config = grub_word(grub_path(f"{base_url.rstrip('/')}/grub?{query}"))
    except BuildError as exc:
        raise MediaError(f"{node.name}: virtual media on UEFI: {exc}") from exc
    return "\n".join(
        [
            f"# Strata virtual media for {node.name}",
            "serial --unit=0 --speed=115200",
            "terminal_input console serial",
            "terminal_output console serial",
            f"echo 'Strata virtual media for {node.name}'",
            f"for try in {' '.join(str(n) for n in range(1, TRIES + 1))}; do",
            "  net_bootp",
            f"  configfile {config}",
            "  sleep 5",
            "done",
            "exit",
            "",
        ]
    )


def _isolinux_cfg() -> bytes:
    return b"DEFAULT strata\nPROMPT 0\nLABEL strata\n  KERNEL /ipxe.lkrn\n  INITRD /strata.ipxe\n"


def write_image(
    script: str, out: Path, files: MediaFiles, uefi: tuple[str, Path] | None = None
) -> None:
    """An El Torito ISO 9660 image at ``out``: ISOLINUX starting ``ipxe.lkrn`` with
    ``script`` (BIOS, no emulation), and with ``uefi`` = (GRUB config, ESP image) an
    entry for UEFI too, the ESP's GRUB reading that config. ``MediaError`` when a file
    is missing."""
    files.check()
    parts: list[tuple[str, bytes]] = [
        ("isolinux.bin", files.isolinux.read_bytes()),
        ("ldlinux.c32", files.ldlinux.read_bytes()),
        ("isolinux.cfg", _isolinux_cfg()),
        ("ipxe.lkrn", files.ipxe.read_bytes()),
        ("strata.ipxe", script.encode()),
    ]
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, rock_ridge="1.09", vol_ident="STRATA_MEDIA")
    try:
        for name, data in parts:
            iso.add_fp(io.BytesIO(data), len(data), f"/{name.upper()}", rr_name=name)
        iso.add_eltorito(
            "/ISOLINUX.BIN",
            bootcatfile="/BOOT.CAT",
            boot_load_size=4,
            boot_info_table=True,
            media_name="noemul",
        )
        if uefi is not None:
            _add_uefi(iso, *uefi)
        iso.write(str(out))
    finally:
        iso.close()


def _add_uefi(iso: pycdlib.PyCdlib, grub_cfg: str, esp: Path) -> None:
    """The ESP as a second El Torito entry (platform 0xEF), GRUB's config and marker."""
    iso.add_file(str(esp), "/EFI.IMG", rr_name="efi.img")
    iso.add_eltorito("/EFI.IMG", efi=True, media_name="noemul", platform_id=0xEF)
    iso.add_directory("/BOOT", rr_name="boot")
    iso.add_directory("/BOOT/GRUB", rr_name="grub")
    files = ((MARKER, b"Strata virtual media\n"), ("/boot/grub/grub.cfg", grub_cfg.encode()))
    for path, data in files:  # interchange level 4: the Rock Ridge name, in upper case
        iso.add_fp(io.BytesIO(data), len(data), path.upper(), rr_name=path.rsplit("/", 1)[1])


class MediaImages:
    """The images this service has built, one file per node and script, the ``KEEP``
    used last kept (in a private temporary directory, removed by ``close``)."""

    def __init__(self, files: MediaFiles | None = None, keep: int = KEEP) -> None:
        self.files, self.keep = files or MediaFiles(), keep
        self._dir: Path | None = None
        self._kept: OrderedDict[str, Asset] = OrderedDict()
        self._esp_digest: str | None = None
        self._lock = threading.Lock()

    def image(self, node: NodePlan, base_url: str) -> Asset:
        """``node``'s image (built on first use; ``MediaError`` when it cannot be), with
        the UEFI entry when the node's firmware is UEFI. Its ETag covers every byte that
        goes in: the loaders' texts, and the ESP's digest (a GRUB upgraded is a new image)."""
        script = media_script(node, base_url)
        grub = media_grub_cfg(node, base_url) if node.firmware == "uefi" else ""
        with self._lock:
            esp = self._esp() if grub else None
            made = f"{node.name}\0{script}\0{grub}\0{esp[1] if esp else ''}"
            key = hashlib.sha256(made.encode()).hexdigest()[:32]
            found = self._kept.get(key)
            if found is not None and found.path.is_file():
                self._kept.move_to_end(key)
                return found
            path = self._directory() / f"{key}.iso"
            partial = path.with_suffix(".part")
            write_image(script, partial, self.files, (grub, esp[0]) if esp else None)
            os.replace(partial, path)
            asset = Asset(path, path.stat(), f'"{key}"')
            self._kept[key] = asset
            while len(self._kept) > self.keep:
                _, old = self._kept.popitem(last=False)
                old.path.unlink(missing_ok=True)
            return asset

    def _esp(self) -> tuple[Path, str]:
        """The ESP every UEFI image carries (the same GRUB for all) and its SHA-256:
        built once, in a directory of its own, then moved beside the images."""
        image = self._directory() / "efi.img"
        if self._esp_digest is None or not image.is_file():
            self.files.check(uefi=True)
            with tempfile.TemporaryDirectory(dir=self._directory()) as work:
                try:
                    built = build_esp(Path(work), MARKER, GRUB_MODULES, ESP_EPOCH)
                except EspError as exc:
                    raise MediaError(str(exc)) from exc
                os.replace(built, image)
            self._esp_digest = hashlib.sha256(image.read_bytes()).hexdigest()
        return image, self._esp_digest

    def close(self) -> None:
        with self._lock:
            for asset in self._kept.values():
                asset.path.unlink(missing_ok=True)
            self._kept.clear()
            if self._dir is not None:
                (self._dir / "efi.img").unlink(missing_ok=True)
                self._esp_digest = None
                self._dir.rmdir()
                self._dir = None

    def _directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="strata-media-"))  # mode 0700
        return self._dir
