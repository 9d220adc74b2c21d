"""OS profiles as data: artifacts, Ignition spec, PXE kernel arguments, install flow.

Sources, one per choice:
- Ignition spec: ``ignition_version`` is the newest spec Strata writes for the OS; a
  node gets the lower of it and the spec its release reads, from the table of releases
  with its sources in ``strata.topology.os_releases`` (Flatcar 3185.0.0 -> 3.3.0,
  3535.0.0 -> 3.4.0, 4152.0.0 -> 3.5.0; FCOS by snapshot date; RHCOS by OpenShift minor).
- Flatcar PXE: flatcar.org/docs/latest/installing/bare-metal/booting-with-ipxe:
  kernel ``flatcar_production_pxe.vmlinuz``, initrd
  ``flatcar_production_pxe_image.cpio.gz``, ``flatcar.first_boot=1``,
  ``ignition.config.url=``. Disk install: flatcar.org/docs/latest/installing/
  bare-metal/installing-to-disk: ``flatcar-install -d DEV -C CHANNEL -V VERSION
  -b BASEURL -i IGNITION`` (``-s``: the smallest unmounted disk); it fetches
  ``BASEURL/VERSION/flatcar_production_image.bin.bz2`` and its ``.sig``.
- Fedora CoreOS PXE: docs.fedoraproject.org/en-US/fedora-coreos/live-reference:
  ``coreos.live.rootfs_url=``, ``ignition.firstboot ignition.platform.id=metal``,
  ``ignition.config.url=``; artifact names from the FCOS stream metadata
  (``fedora-coreos-V-live-kernel.x86_64``, …; the dash form ``-live-kernel-x86_64``
  was dropped). Install: coreos.github.io/coreos-installer/getting-started,
  "Kernel command line options for coreos-installer running as a service":
  ``coreos.inst.install_dev=``, ``coreos.inst.ignition_url=``, ``coreos.inst.image_url=``.
- RHCOS: docs.openshift.com, "Installing RHCOS by using PXE or iPXE booting":
  the same ``coreos.*`` arguments; artifacts ``rhcos-V-x86_64-live-kernel.x86_64``, ….
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "Artifacts", "OSProfile", "profile_for"]


@dataclass(frozen=True, slots=True)
class Artifacts:
    """File names in the artifact mirror, ``assets/OS/VERSION/NAME``; ``{v}`` is the version."""

    kernel: str
    initramfs: str
    rootfs: str | None  # FCOS/RHCOS live rootfs; Flatcar's PXE initramfs holds the whole OS
    iso: str
    disk_image: str
    disk_signature: str | None = None  # Flatcar verifies the image with this GPG signature

    def names(self, version: str) -> dict[str, str]:
        fields = {
            "kernel": self.kernel,
            "initramfs": self.initramfs,
            "rootfs": self.rootfs,
            "iso": self.iso,
            "disk_image": self.disk_image,
            "disk_signature": self.disk_signature,
        }
        return {role: name.format(v=version) for role, name in fields.items() if name}

    def network_install(self, version: str) -> tuple[str, ...]:
        """What a network-boot install fetches from the mirror: the kernel and initramfs
        iPXE loads, and what the installer fetches next (FCOS/RHCOS: the live rootfs and
        the metal image; Flatcar: the disk image and its signature). Not the ISO."""
        names = self.names(version)
        return tuple(n for role, n in names.items() if role != "iso")


@dataclass(frozen=True, slots=True)
class OSProfile:
    name: str
    ignition_version: str  # the newest spec written for this OS; a release may read less
    architectures: tuple[str, ...]
    artifacts: Artifacts
    live_args: tuple[str, ...]  # kernel arguments that make the live system run Ignition
    network: str  # how the installed system is configured: "networkd" or "nm-keyfile"
    installer: str  # "flatcar-install" or "coreos-installer"
    console: tuple[str, ...] = ("console=tty0", "console=ttyS0,115200n8")


PROFILES: dict[str, OSProfile] = {
    "flatcar": OSProfile(
        name="flatcar",
        ignition_version="3.5.0",
        architectures=("x86_64",),
        artifacts=Artifacts(
            kernel="flatcar_production_pxe.vmlinuz",
            initramfs="flatcar_production_pxe_image.cpio.gz",
            rootfs=None,
            iso="flatcar_production_iso_image.iso",
            disk_image="flatcar_production_image.bin.bz2",
            disk_signature="flatcar_production_image.bin.bz2.sig",
        ),
        live_args=("flatcar.first_boot=1",),
        network="networkd",
        installer="flatcar-install",
    ),
    "fcos": OSProfile(
        name="fcos",
        ignition_version="3.5.0",
        architectures=("x86_64",),
        artifacts=Artifacts(
            kernel="fedora-coreos-{v}-live-kernel.x86_64",
            initramfs="fedora-coreos-{v}-live-initramfs.x86_64.img",
            rootfs="fedora-coreos-{v}-live-rootfs.x86_64.img",
            iso="fedora-coreos-{v}-live-iso.x86_64.iso",
            disk_image="fedora-coreos-{v}-metal.x86_64.raw.xz",
        ),
        live_args=("ignition.firstboot", "ignition.platform.id=metal"),
        network="nm-keyfile",
        installer="coreos-installer",
    ),
    "rhcos": OSProfile(
        name="rhcos",
        ignition_version="3.5.0",
        architectures=("x86_64",),
        artifacts=Artifacts(
            kernel="rhcos-{v}-x86_64-live-kernel.x86_64",
            initramfs="rhcos-{v}-x86_64-live-initramfs.x86_64.img",
            rootfs="rhcos-{v}-x86_64-live-rootfs.x86_64.img",
            iso="rhcos-{v}-x86_64-live-iso.x86_64.iso",
            disk_image="rhcos-{v}-x86_64-metal.x86_64.raw.gz",
        ),
        live_args=("ignition.firstboot", "ignition.platform.id=metal"),
        network="nm-keyfile",
        installer="coreos-installer",
    ),
}


def profile_for(os_name: str) -> OSProfile:
    try:
        return PROFILES[os_name]
    except KeyError:
        raise ValueError(f"no OS profile for {os_name!r} (known: {', '.join(PROFILES)})") from None
