"""The boot recipe: the iPXE script that boots a node's installer, from its plan and profile.

iPXE script syntax: ipxe.org/scripting. ``initrd --name main`` plus
``initrd=main`` on the kernel line lets a UEFI kernel find its initrd
(without it the 2019 iPXE in Debian leaves UEFI kernels without a root:
shared/TESTING.md). ``BOOTIF=01-${netX/mac:hexhyp}`` tells the initramfs which
NIC booted (dracut's BOOTIF, as pxelinux's IPAPPEND 2 sets it).
"""

from __future__ import annotations

from dataclasses import dataclass

from strata.ignition.build import BuildError, install_device, spec_version
from strata.ignition.install import resolves_root_device
from strata.ignition.profiles import OSProfile
from strata.plan import NodePlan

__all__ = ["RecipeURLs", "disk_script", "install_script"]


@dataclass(frozen=True, slots=True)
class RecipeURLs:
    assets: str  # the artifact mirror for this OS and version
    live_config: str  # the installer's Ignition config
    final_config: str  # the installed system's config (coreos-installer fetches it)
    # appended to each artifact URL: "?node=NAME&token=T", the node's artifact token, so
    # that a 404 it asks for is news about the node (strata.boot.service, ``_missing``)
    asset_query: str = ""


def install_script(plan: NodePlan, profile: OSProfile, urls: RecipeURLs) -> str:
    """The iPXE script; ``BuildError`` when nothing can install this node (a release no
    spec 3 config serves, a CoreOS node with no disk to install to, a URL iPXE cannot take).

    coreos-installer takes a named disk from kernel arguments; when root device hints
    choose it, the live config's unit runs coreos-installer instead (``install``)."""
    spec_version(plan, profile)  # the release can be served at all
    names = {
        role: f"{name}{urls.asset_query}"
        for role, name in profile.artifacts.names(plan.os_version).items()
    }
    for url in (urls.assets, urls.live_config, urls.final_config, urls.asset_query):
        if any(c in url for c in " \t\n$") or "&&" in url or "||" in url:
            raise BuildError(f"the URL {url!r} cannot stand in an iPXE script")
    args = [
        "initrd=main",
        *profile.live_args,
        f"ignition.config.url={urls.live_config}",
        *profile.console,
        "BOOTIF=01-${netX/mac:hexhyp}",
    ]
    if profile.installer == "coreos-installer":
        device = install_device(plan)
        if device is None and not resolves_root_device(plan):
            raise BuildError(
                f"{plan.name}: {profile.name} installs to a disk it is told: set installDisk, "
                "rootDeviceHints or the node's disks (coreos-installer takes "
                "coreos.inst.install_dev, or runs from the live config for hints)"
            )
        args += [
            "ip=dhcp",
            "rd.neednet=1",
            f"coreos.live.rootfs_url={urls.assets}/{names['rootfs']}",
        ]
        if device is not None:
            args += [
                f"coreos.inst.install_dev={device}",
                f"coreos.inst.ignition_url={urls.final_config}",
                f"coreos.inst.image_url={urls.assets}/{names['disk_image']}",
            ]
    return "\n".join(
        [
            "#!ipxe",
            f"# Strata: install {profile.name} {plan.os_version} on {plan.name}",
            f"kernel {urls.assets}/{names['kernel']} {' '.join(args)}",
            f"initrd --name main {urls.assets}/{names['initramfs']}",
            "boot",
            "",
        ]
    )


def disk_script(plan: NodePlan) -> str:
    """A provisioned node boots from its own disk (iPXE ``sanboot --no-describe --drive 0x80``
    is BIOS-only; ``exit`` hands back to the firmware's next boot entry, the disk)."""
    return f"#!ipxe\n# Strata: {plan.name} is provisioned: boot from disk\nexit\n"
