"""The seed's live system: a minimal Debian bookworm made by ``mmdebstrap`` from Debian's
packages, with Strata in a venv at /opt/strata and a unit that runs ``strata seed start``.

Two stages, each cached under ``~/.cache/strata/seed/`` by a digest of its inputs:

1. *base* — ``mmdebstrap`` (root mode) with the machine's apt sources: the kernel
   (``linux-image-amd64``), ``live-boot`` + ``initramfs-tools`` (its initrd finds
   ``/live/filesystem.squashfs`` on any medium and mounts the medium at
   ``/run/live/medium``: live-boot(7)), systemd, python3; kept as a tar with the kernel
   and initrd beside it. Keyed by the package list, the hooks and the sources.
2. *root* — the base with Strata (this checkout, as a wheel) and its dependencies (PyPI,
   by name, fetched here with this machine's pip settings) installed offline into
   /opt/strata, the unit of deploy/seed/, as one squashfs (mksquashfs, zstd). Keyed by
   the base, Strata's sources and the unit: a change to Strata rebuilds only this stage.

Needs root (chroot), ``mmdebstrap`` and ``squashfs-tools``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from strata.errors import StrataError
from strata.seed.cache import KEEP, TRASH, mark_used, prune

__all__ = ["PACKAGES", "LiveRoot", "SeedBuildError", "checkout", "live_root", "stderr_progress"]

# Debian bookworm packages of the live system (no Recommends: mmdebstrap's default).
PACKAGES = (
    "linux-image-amd64",  # the kernel; its modules for CD, USB, NICs and squashfs
    "live-boot",  # the initrd's live medium finder: boot=live (live-boot(7))
    "initramfs-tools",
    "systemd-sysv",  # systemd as /sbin/init
    "udev",
    "kmod",
    "python3",
    "python3-venv",  # /opt/strata is a venv
    "ca-certificates",
    "iproute2",  # the seed's addresses on the BMC and provisioning networks
    "dnsmasq-base",  # DHCP/TFTP for the machines it provisions
    "ipxe",  # the iPXE binaries the boot service hands out
    "isolinux",  # with syslinux-common: the virtual media images it builds (boot.media)
    "syslinux-common",
    # those images' ESP for UEFI machines: GRUB (grub-mkimage), a FAT image (boot.esp)
    "grub-efi-amd64-bin",
    "grub-common",
    "mtools",
    "dosfstools",
)
SUITE = "bookworm"
HOSTNAME = "strata-seed"
# Run inside the base (mmdebstrap --customize-hook): the seed's name, an initrd that has
# live-boot's scripts in it, iPXE's binaries where the boot service reads them, and no
# getty on the terminals the unit uses.
BASE_HOOKS = (
    f'echo {HOSTNAME} > "$1/etc/hostname"',
    'chroot "$1" update-initramfs -u -k all',
    # /boot stays out of the squashfs; Debian's /usr/lib/ipxe/ipxe.{efi,lkrn} link there
    'for f in ipxe.efi ipxe.lkrn; do cp --remove-destination "$1/boot/$f" "$1/usr/lib/ipxe/$f"; done',
    'ln -sf /dev/null "$1/etc/systemd/system/getty@tty1.service"',
    'ln -sf /dev/null "$1/etc/systemd/system/serial-getty@ttyS0.service"',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
)
UNIT = "strata-seed.service"
# Left out of the squashfs: documentation, translations, and kernel modules for hardware
# a seed's server does not have (sound, cameras, GPUs beyond the firmware's framebuffer,
# Wi-Fi, Bluetooth, staging drivers); depmod then forgets them. Storage, NICs (Ethernet,
# InfiniBand), USB and HID stay.
TRIM = (
    *("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"),
    *(f"usr/lib/modules/*/kernel/{p}" for p in ("sound", "drivers/gpu", "drivers/media")),
    *(f"usr/lib/modules/*/kernel/drivers/{p}" for p in ("staging", "iio", "comedi")),
    *(f"usr/lib/modules/*/kernel/{p}" for p in ("drivers/net/wireless", "net/wireless")),
    *(f"usr/lib/modules/*/kernel/{p}" for p in ("net/mac80211", "drivers/bluetooth")),
    *("usr/lib/modules/*/kernel/net/bluetooth", "usr/lib/modules/*/kernel/lib/test_*"),
)
# Timers of an installed system that a live seed, offline, has no use for.
MASKED = ("apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "fstrim.timer")
VENV = "/opt/strata"


class SeedBuildError(StrataError):
    """The seed's live system or image could not be built."""

    kind = "seed-build"


@dataclass(frozen=True)
class LiveRoot:
    """A built live system: the kernel and initrd (from Debian's linux-image-amd64 and
    initramfs-tools with live-boot), the root filesystem as a squashfs, and the digest
    (hex SHA-256 of every input) that names it in the cache."""

    kernel: Path
    initrd: Path
    squashfs: Path
    digest: str


def stderr_progress(message: str) -> None:
    """The default progress of a build: one line on stderr per long step."""
    print(message, file=sys.stderr, flush=True)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "strata" / "seed"


def live_root(
    cache: Path | None = None, progress: Callable[[str], None] = stderr_progress
) -> LiveRoot:
    """The live system, built once per digest of its inputs and kept in ``cache``
    (default ``~/.cache/strata/seed``). Builds at the same time in one cache wait for
    each other (a lock file). Each kind of stage keeps the ``KEEP`` used last, and any in
    use by a process; older ones are removed, each said (``strata.seed.cache``). Raises
    SeedBuildError when a tool is missing, this is not root, or a build step fails (with
    the step's last output)."""
    cache = cache or default_cache()
    _check_tools()
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / ".lock", progress):
        base = _base(cache, progress)
        source = checkout()
        digest = _digest(base.name, *_strata_inputs(source))
        out = cache / "root" / digest[:16]
        root = LiveRoot(out / "vmlinuz", out / "initrd.img", out / "filesystem.squashfs", digest)
        if not root.squashfs.exists():
            _build_root(base, source, out, digest, progress)
            progress(f"seed: live root {digest[:16]} ready ({_mib(root.squashfs)} MiB squashfs)")
        for stage in (base, out):  # in use until this process ends; the rest pruned
            mark_used(stage)
            prune(stage.parent, KEEP, current=stage, progress=progress)
    return root


@contextmanager
def _locked(path: Path, progress: Callable[[str], None]) -> Iterator[None]:
    with path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"seed: waiting for another build in {path.parent}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_root(
    base: Path, source: Path, out: Path, digest: str, progress: Callable[[str], None]
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as tmp:
        work = Path(tmp)
        wheels = _wheels(source, work / "wheels", progress)
        tree = work / "tree"
        progress(f"seed: unpacking the Debian base {base.name}")
        _run("tar", "--numeric-owner", "-xpf", str(base / "base.tar"), "-C", str(tree), mkdir=tree)
        _install_strata(tree, wheels, progress)
        _install_unit(tree, source / "deploy" / "seed" / UNIT)
        _trim(tree)
        progress("seed: the root filesystem as a squashfs (mksquashfs, zstd)")
        _squash(tree, work / "filesystem.squashfs")
        shutil.copy(base / "vmlinuz", work / "vmlinuz")
        shutil.copy(base / "initrd.img", work / "initrd.img")
        (work / "digest").write_text(digest + "\n")
        shutil.rmtree(tree)
        shutil.rmtree(wheels)
        _set_aside(out, progress)
        os.replace(work, out)
        work.mkdir()  # for TemporaryDirectory's clean-up


def _set_aside(out: Path, progress: Callable[[str], None]) -> None:
    """Move a damaged stage at ``out`` (no squashfs: a removal or build cut short) to a
    trash name beside it, which ``prune`` clears, so that the new build can take its name."""
    if not os.path.lexists(out):
        return
    trash = out.with_name(f"{TRASH}{out.name}-{os.getpid()}")
    progress(f"seed: {out} is damaged (no squashfs); set aside as {trash.name}")
    os.rename(out, trash)


def checkout() -> Path:
    """This Strata's source tree (the wheel is built from it). Raises SeedBuildError when
    Strata runs from an installed package instead of a checkout."""
    here = Path(__file__).resolve().parents[3]
    if not (here / "pyproject.toml").is_file() or not (here / "deploy" / "seed" / UNIT).is_file():
        raise SeedBuildError(
            f"the seed is built from a Strata checkout; {here} is not one "
            "(no pyproject.toml or deploy/seed/): run it from a git clone"
        )
    return here


def _check_tools() -> None:
    missing = [t for t in ("mmdebstrap", "mksquashfs", "chroot") if shutil.which(t) is None]
    if missing:
        raise SeedBuildError(
            f"missing {', '.join(missing)}: apt-get install mmdebstrap squashfs-tools"
        )
    if os.geteuid() != 0:
        raise SeedBuildError("building the seed's live system needs root (mmdebstrap, chroot)")


def _sources() -> list[Path]:
    """The machine's apt sources (sources.list and sources.list.d/*.list|*.sources)."""
    apt = Path("/etc/apt")
    found = [apt / "sources.list"] if (apt / "sources.list").is_file() else []
    found += sorted(
        p for p in (apt / "sources.list.d").glob("*") if p.suffix in (".list", ".sources")
    )
    return [p for p in found if p.read_text().strip()]


def _base(cache: Path, progress: Callable[[str], None]) -> Path:
    sources = _sources()
    digest = _digest(SUITE, *PACKAGES, *BASE_HOOKS, *(f"{p}\n{p.read_text()}" for p in sources))
    base = cache / "base" / digest[:16]
    if (base / "base.tar").exists():
        return base
    (cache / "base").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache / "base", prefix=".build-") as tmp:
        work = Path(tmp)
        progress(f"seed: mmdebstrap {SUITE} with {len(PACKAGES)} packages (minutes)")
        command = [
            *("mmdebstrap", "--variant=apt", "--mode=root", "--format=tar"),
            f"--include={','.join(PACKAGES)}",
            *(f"--customize-hook={hook}" for hook in BASE_HOOKS),
            SUITE,
            str(work / "base.tar"),
            *(str(p) for p in sources),
        ]
        _run(*command)
        _extract_boot(work / "base.tar", work)
        os.replace(work, base)
        work.mkdir()
    return base


def _extract_boot(tar: Path, into: Path) -> None:
    """vmlinuz and initrd.img of the base's (one) kernel, out of its /boot."""
    with tarfile.open(tar) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("./")
            for prefix, target in (
                ("boot/vmlinuz-", "vmlinuz"),
                ("boot/initrd.img-", "initrd.img"),
            ):
                if name.startswith(prefix) and member.isfile():
                    extracted = archive.extractfile(member)
                    assert extracted is not None
                    (into / target).write_bytes(extracted.read())
    for target in ("vmlinuz", "initrd.img"):
        if not (into / target).exists():
            raise SeedBuildError(
                f"the Debian base has no /boot/{target}-*: is linux-image-amd64 in it?"
            )


def _strata_inputs(source: Path) -> Iterator[str]:
    """What the Strata stage is made of: pyproject, the package's files, the unit."""
    files = [source / "pyproject.toml", source / "deploy" / "seed" / UNIT]
    package = source / "src" / "strata"
    files += sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        yield f"{path.relative_to(source)}\n{hashlib.sha256(path.read_bytes()).hexdigest()}"
    yield f"python {sys.version_info.major}.{sys.version_info.minor}"


def _wheels(source: Path, into: Path, progress: Callable[[str], None]) -> Path:
    progress("seed: Strata's wheel and its dependencies' (pip wheel, from PyPI by name)")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--wheel-dir", str(into), str(source))  # fmt: skip
    return into


def _install_strata(tree: Path, wheels: Path, progress: Callable[[str], None]) -> None:
    progress(f"seed: Strata into {VENV} (a venv, offline from the wheels)")
    shutil.copytree(wheels, tree / "tmp" / "wheels")
    with _mounted(tree):
        _run("chroot", str(tree), "python3", "-m", "venv", VENV)
        _run("chroot", str(tree), f"{VENV}/bin/pip", "install", "--quiet", "--no-cache-dir",
             "--disable-pip-version-check", "--no-index", "--find-links", "/tmp/wheels",
             "strata")  # fmt: skip
    shutil.rmtree(tree / "tmp" / "wheels")


@contextmanager
def _mounted(tree: Path) -> Iterator[None]:
    """/proc inside ``tree`` for the chroot's commands, unmounted after. /dev is the
    base's own (mmdebstrap's tar holds its device nodes): no bind mount of the host's
    /dev that a clean-up could walk into."""
    proc = tree / "proc"
    proc.mkdir(exist_ok=True)
    _run("mount", "-t", "proc", "proc", str(proc))
    try:
        yield
    finally:
        subprocess.run(["umount", "--lazy", str(proc)], check=False)
        if os.path.ismount(proc):
            raise SeedBuildError(f"{proc} is still mounted: umount it, then remove {tree}")


def _install_unit(tree: Path, unit: Path) -> None:
    systemd = tree / "etc" / "systemd" / "system"
    shutil.copy(unit, systemd / UNIT)
    wants = systemd / "multi-user.target.wants"
    wants.mkdir(exist_ok=True)
    (wants / UNIT).unlink(missing_ok=True)
    (wants / UNIT).symlink_to(f"/etc/systemd/system/{UNIT}")
    for name in MASKED:  # systemctl mask, by hand: a link to /dev/null
        (systemd / name).unlink(missing_ok=True)
        (systemd / name).symlink_to("/dev/null")


def _trim(tree: Path) -> None:
    """TRIM out of the tree, the kernel's module index made again without them."""
    for pattern in TRIM:
        for path in sorted(tree.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for modules in sorted((tree / "usr" / "lib" / "modules").iterdir()):
        _run("chroot", str(tree), "depmod", "-a", modules.name)
    # live-boot writes /etc/network/interfaces (for ifupdown, absent here) if the
    # directory exists; without it, its initrd prints an error on every boot
    (tree / "etc" / "network").mkdir(exist_ok=True)


def _squash(tree: Path, out: Path) -> None:
    epoch = source_date_epoch()
    _run("mksquashfs", str(tree), str(out), "-noappend", "-comp", "zstd", "-quiet",
         "-no-progress", "-e", "boot", "-mkfs-time", str(epoch), "-all-time", str(epoch),
         env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)})  # fmt: skip


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH (reproducible-builds.org/specs/source-date-epoch) if set, else a
    fixed 2026-01-01T00:00:00Z: the seed's files and the ISO's dates carry no build time."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "1767225600")
    if not value.isdigit():
        raise SeedBuildError(f"SOURCE_DATE_EPOCH={value!r} is not a count of seconds")
    return int(value)


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def _mib(path: Path) -> int:
    return round(path.stat().st_size / 2**20)


def _run(*command: str, mkdir: Path | None = None, env: dict[str, str] | None = None) -> None:
    if mkdir is not None:
        mkdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        list(command), capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-3000:]
        raise SeedBuildError(f"{command[0]} failed ({done.returncode}):\n{tail}")
