"""Virtual media: the boot image a BMC inserts as a virtual CD, one per node.

The image is iPXE started by ISOLINUX (El Torito, no emulation: ``isolinux.bin``,
``ldlinux.c32``, Debian's ``ipxe.lkrn``) with a script as its initrd, which
``ipxe.lkrn`` runs (iPXE's runtime support for images given by the loader). The
script brings the network up with DHCP and chains to the boot service's ``/ipxe`` for
the node's boot MAC, so the machine gets exactly what a network boot gets: the install
script of its attempt open at that moment, with that attempt's tokens, or the boot
from disk once it is provisioned. The image therefore holds no secret and does not
change with the attempt; it is built when a BMC first asks for it and kept, at most
``KEEP`` images, in a directory only this process reads.

Why iPXE and not the OS's kernel and initrd on the image: a Flatcar or CoreOS live
initrd is hundreds of MiB, and the attempt's tokens would have to be written into every
copy; the iPXE image is under 1 MiB and the tokens stay with the boot service.
Firmware: BIOS (and UEFI's legacy mode) only. Debian's iPXE for EFI (2019) takes no
script from the medium it was started from (no ``autoexec.ipxe``, no command line):
started from a CD it says "Nothing to boot"; topology validation says so.

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
from strata.boot.tokens import TokenSigner
from strata.errors import StrataError
from strata.plan import NodePlan
from strata.topology.bmc_schemes import VIRTUAL_MEDIA

__all__ = [
    "KEEP",
    "MediaError",
    "MediaFiles",
    "MediaImages",
    "media_links",
    "media_refusal",
    "media_script",
    "media_url",
]

KEEP = 256  # images kept on disk (about 0.5 MiB each); the oldest used goes first
VIA = "virtual-media"  # what the chain tells /ipxe: the road this machine took
TRIES = 24  # chain attempts, 5 s apart, before iPXE gives up (a boot service moving)


class MediaError(StrataError):
    """A virtual media image cannot be built: a boot loader file is missing."""

    kind = "virtual-media"


@dataclass(frozen=True, slots=True)
class MediaFiles:
    """Debian's files the image is made of (packages isolinux, syslinux-common, ipxe)."""

    isolinux: Path = Path("/usr/lib/ISOLINUX/isolinux.bin")
    ldlinux: Path = Path("/usr/lib/syslinux/modules/bios/ldlinux.c32")
    ipxe: Path = Path("/usr/lib/ipxe/ipxe.lkrn")

    def check(self) -> None:
        """``MediaError`` naming each missing file and the packages that hold them."""
        missing = [str(p) for p in (self.isolinux, self.ldlinux, self.ipxe) if not p.is_file()]
        if missing:
            raise MediaError(
                f"virtual media needs {', '.join(missing)}: "
                "apt-get install isolinux syslinux-common ipxe"
            )


def media_refusal(nodes: Iterable[NodePlan], files: MediaFiles | None = None) -> str | None:
    """Before any server is powered on: why the images of ``nodes`` that boot from
    virtual media could not be built (a missing file, and for which nodes), or None."""
    names = [n.name for n in nodes if VIRTUAL_MEDIA in n.boot_methods]
    try:
        if names:
            (files or MediaFiles()).check()
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


def _isolinux_cfg() -> bytes:
    return b"DEFAULT strata\nPROMPT 0\nLABEL strata\n  KERNEL /ipxe.lkrn\n  INITRD /strata.ipxe\n"


def write_image(script: str, out: Path, files: MediaFiles) -> None:
    """An El Torito (BIOS, no emulation) ISO 9660 image at ``out``: ISOLINUX starting
    ``ipxe.lkrn`` with ``script``. ``MediaError`` when a file is missing."""
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
        iso.write(str(out))
    finally:
        iso.close()


class MediaImages:
    """The images this service has built, one file per node and script, the ``KEEP``
    used last kept (in a private temporary directory, removed by ``close``)."""

    def __init__(self, files: MediaFiles | None = None, keep: int = KEEP) -> None:
        self.files, self.keep = files or MediaFiles(), keep
        self._dir: Path | None = None
        self._kept: OrderedDict[str, Asset] = OrderedDict()
        self._lock = threading.Lock()

    def image(self, node: NodePlan, base_url: str) -> Asset:
        """``node``'s image (built on first use; ``MediaError`` when it cannot be)."""
        script = media_script(node, base_url)
        key = hashlib.sha256(f"{node.name}\0{script}".encode()).hexdigest()[:32]
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found.path.is_file():
                self._kept.move_to_end(key)
                return found
            path = self._directory() / f"{key}.iso"
            partial = path.with_suffix(".part")
            write_image(script, partial, self.files)
            os.replace(partial, path)
            stat = path.stat()
            asset = Asset(path, stat, f'"{key}"')
            self._kept[key] = asset
            while len(self._kept) > self.keep:
                _, old = self._kept.popitem(last=False)
                old.path.unlink(missing_ok=True)
            return asset

    def close(self) -> None:
        with self._lock:
            for asset in self._kept.values():
                asset.path.unlink(missing_ok=True)
            self._kept.clear()
            if self._dir is not None:
                self._dir.rmdir()
                self._dir = None

    def _directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="strata-media-"))  # mode 0700
        return self._dir
