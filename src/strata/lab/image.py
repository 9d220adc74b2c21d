"""The lab's stand-in OS image: Debian's kernel and a busybox initramfs whose /init
(init.sh beside this file) fetches the node's Ignition config and phones home.

Built on the fly from Debian packages (``apt-get download``, no installation) and
cached; installed into the artifact mirror under the file names of the OS the
topology asks for, with a note saying what it is, so the boot recipe is the one
real machines get. Real Flatcar or CoreOS artifacts in the mirror take precedence:
an existing file that is not a lab stand-in is never overwritten.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from strata.errors import StrataError
from strata.ignition import profile_for
from strata.ignition.kube_artifacts import kube_artifacts
from strata.plan import NodePlan, Plan

__all__ = ["LabImageError", "build_image", "install_image", "stand_in_artifacts", "stand_ins_for"]

NOTE = "STRATA-LAB-STAND-IN"  # a file beside the stand-ins, naming them for what they are
# The NIC drivers of the lab's machines, each after those it needs: e1000 (SeaBIOS
# machines, iPXE's ROM) and virtio-net (a UEFI HTTP Boot: OVMF's own driver for it).
NIC_MODULES = (
    "e1000",
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
)


class LabImageError(StrataError):
    """The lab's stand-in OS image could not be built or installed."""

    kind = "lab-image"


def build_image(cache: Path) -> tuple[Path, Path]:
    """(kernel, initramfs) in ``cache``, built once per version of init.sh."""
    init_text = resources.files("strata.lab").joinpath("init.sh").read_text()
    key = "\n".join((init_text, *NIC_MODULES))
    cache = cache / hashlib.sha256(key.encode()).hexdigest()[:12]
    kernel, initrd = cache / "vmlinuz", cache / "initramfs.cpio.gz"
    if kernel.exists() and initrd.exists():
        return kernel, initrd
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        _download(work, _kernel_package(), "busybox-static")
        unpacked = work / "unpacked"
        for deb in work.glob("*.deb"):
            _run("dpkg-deb", "-x", str(deb), str(unpacked))
        root = work / "root"
        (root / "bin").mkdir(parents=True)
        shutil.copy(unpacked / "bin" / "busybox", root / "bin" / "busybox")
        _modules(unpacked, root / "modules")
        init = root / "init"
        init.write_text(init_text)
        init.chmod(0o755)
        shutil.copy(next(unpacked.glob("boot/vmlinuz-*")), work / "vmlinuz")
        _cpio(root, work / "initramfs.cpio.gz")
        (work / "vmlinuz").replace(kernel)
        (work / "initramfs.cpio.gz").replace(initrd)
    return kernel, initrd


def _modules(unpacked: Path, into: Path) -> None:
    """``NIC_MODULES`` from the unpacked kernel package into ``into``, with ``order``
    (the load order /init follows). ``LabImageError`` when one is missing or comes
    before a module it depends on (its ``depends=`` in .modinfo, as modprobe reads it)."""
    into.mkdir()
    for i, module in enumerate(NIC_MODULES):
        found = next(unpacked.glob(f"lib/modules/*/kernel/**/{module}.ko"), None)
        if found is None:
            raise LabImageError(f"{module}.ko is not in Debian's kernel package")
        depends = re.search(rb"\0depends=([^\0]*)\0", found.read_bytes())
        later = {d for d in (depends.group(1).decode() if depends else "").split(",") if d}
        later -= set(NIC_MODULES[:i])
        if later:
            raise LabImageError(f"{module} needs {', '.join(sorted(later))} loaded before it")
        shutil.copy(found, into / found.name)
    (into / "order").write_text("\n".join(NIC_MODULES) + "\n")


def install_image(kernel: Path, initrd: Path, mirror: Path, os_name: str, version: str) -> Path:
    """Place the stand-in under ``os_name``'s PXE artifact names in the mirror; the other
    files a network install fetches (disk image, rootfs) as empty stand-ins, which the
    stand-in OS never fetches."""
    names = profile_for(os_name).artifacts.names(version)
    target = stand_in_artifacts(mirror, os_name, version)
    for source, name in ((kernel, names["kernel"]), (initrd, names["initramfs"])):
        shutil.copy(source, target / name)
    return target


def stand_ins_for(mirror: Path, nodes: Iterable[NodePlan]) -> None:
    """``stand_in_artifacts`` for every OS version ``nodes`` install."""
    for os_name, version in sorted({(n.os_name, n.os_version) for n in nodes}):
        stand_in_artifacts(mirror, os_name, version)


def stand_in_artifacts(mirror: Path, os_name: str, version: str) -> Path:
    """Empty files under every name a network install of ``os_name`` ``version`` fetches,
    with a note saying they are stand-ins: for the lab and simulated machines, which boot
    no real OS. ``LabImageError`` rather than overwrite a real artifact."""
    target = mirror / os_name / version
    target.mkdir(parents=True, exist_ok=True)
    for name in profile_for(os_name).artifacts.network_install(version):
        dest = target / name
        if dest.exists() and not (target / NOTE).exists():
            raise LabImageError(f"{dest} is a real artifact: the lab leaves it alone")
        if not dest.exists():
            dest.write_bytes(b"")
    (target / NOTE).write_text(
        "The files here are Strata's lab stand-ins (a Debian kernel and busybox, or empty),\n"
        "not a real OS. Delete this directory and import real artifacts to install the OS.\n"
    )
    return target


def stand_in_kube_artifacts(mirror: Path, plan: Plan) -> None:
    """Stand-ins for the Kubernetes files every node of ``plan`` downloads (the sysext
    image on Flatcar, the programs on FCOS/RHCOS: ``strata.ignition.kube_artifacts``),
    each a line of text saying what it is, with ``NOTE`` beside them: the stand-in OS
    downloads none of them (the lab runs Kubernetes on its behalf). ``LabImageError``
    rather than overwrite a real artifact."""
    clusters = {c.name: c for c in plan.clusters}
    targets: dict[Path, set[str]] = {}
    for node in plan.nodes:
        cluster = clusters.get(node.layer)
        if cluster is None:
            continue
        for artifact in kube_artifacts(node.os_name, cluster.distribution, cluster.version):
            target = mirror / artifact.directory / artifact.release
            if (target / artifact.name).exists() and not (target / NOTE).exists():
                raise LabImageError(f"{target / artifact.name} is real: the lab leaves it alone")
            targets.setdefault(target, set()).add(artifact.name)
    for target, names in targets.items():
        target.mkdir(parents=True, exist_ok=True)
        (target / NOTE).write_text(
            "The files here are Strata's lab stand-ins, not Kubernetes: the lab runs\n"
            "real Kubernetes programs on its machines' behalf (docs/lab.md).\n"
        )
        sums = []
        for name in sorted(names):
            data = f"{NOTE}: {name} (not the real file)\n".encode()
            (target / name).write_bytes(data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        (target / "SHA256SUMS").write_text("".join(sums))  # as `strata artifacts import` lists


def _kernel_package() -> str:
    """The versioned kernel package behind Debian's linux-image-amd64 (which holds none)."""
    for attempt in range(2):
        try:
            out = _run("apt-cache", "depends", "linux-image-amd64")
        except LabImageError:
            out = ""
        for line in out.splitlines():
            if line.strip().startswith("Depends: linux-image-"):
                return line.split()[-1]
        if attempt == 0:
            _run("apt-get", "update", "-qq")  # a fresh machine may have no package lists yet
    raise LabImageError("apt-cache names no kernel for linux-image-amd64")


def _download(where: Path, *packages: str) -> None:
    _run("apt-get", "download", *packages, cwd=where)


def _cpio(root: Path, out: Path) -> None:
    """A newc cpio archive (what the kernel unpacks), made by the busybox inside it."""
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    busybox = root / "bin" / "busybox"
    archive = subprocess.run(
        [str(busybox), "cpio", "-o", "-H", "newc"],
        input=("\n".join(names) + "\n").encode(),
        cwd=root,
        capture_output=True,
        check=True,
    )
    out.write_bytes(gzip.compress(archive.stdout, compresslevel=6))


def _run(*args: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise LabImageError(f"{args[0]} is missing: the lab needs Debian's apt and dpkg") from None
    if done.returncode != 0:
        raise LabImageError(f"{' '.join(args)}: {done.stderr.strip()[-500:]}")
    return done.stdout
