"""The boot recipe: what boots a node's installer (kernel, initrd, kernel arguments), from
its plan and profile, and the two loaders' scripts for it.

iPXE (every network boot, and virtual media on BIOS): script syntax ipxe.org/scripting.
``initrd --name main`` plus ``initrd=main`` on the kernel line lets a UEFI kernel find
its initrd (without it the 2019 iPXE in Debian leaves UEFI kernels without a root:
shared/TESTING.md). ``BOOTIF=01-${netX/mac:hexhyp}`` tells the initramfs which NIC
booted (dracut's BOOTIF, as pxelinux's IPAPPEND 2 sets it).

GRUB (virtual media on UEFI, ``strata.boot.media``): a config for GRUB 2's script
language (GRUB manual, "Shell-like scripting") whose ``linux`` and ``initrd`` read the
same URLs through GRUB's ``http`` module, written as ``(http,HOST:PORT)/PATH?QUERY``
(GRUB manual, "Network"); GRUB speaks plain HTTP only. Every word is single-quoted
(nothing in it is expanded), and BOOTIF names the node's boot MAC, the NIC GRUB asked on.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from strata.ignition.build import BuildError, install_device, spec_version
from strata.ignition.install import resolves_root_device
from strata.ignition.profiles import OSProfile
from strata.plan import NodePlan

__all__ = [
    "BootRecipe",
    "RecipeURLs",
    "disk_grub",
    "disk_script",
    "grub_config",
    "grub_path",
    "grub_word",
    "install_recipe",
    "install_script",
]

BOOTIF = "BOOTIF"  # in BootRecipe.args: where each loader writes the booting NIC


@dataclass(frozen=True, slots=True)
class RecipeURLs:
    assets: str  # the artifact mirror for this OS and version
    live_config: str  # the installer's Ignition config
    final_config: str  # the installed system's config (coreos-installer fetches it)
    # appended to each artifact URL: "?node=NAME&token=T", the node's artifact token, so
    # that a 404 it asks for is news about the node (strata.boot.service, ``_missing``)
    asset_query: str = ""


@dataclass(frozen=True, slots=True)
class BootRecipe:
    """What boots a node's installer, whatever loads it: the kernel's and initrd's URLs
    and the kernel's arguments (``BOOTIF`` stands where the loader names the boot NIC)."""

    title: str  # "install flatcar 4081.2.0 on lab-cp-0"
    kernel: str
    initrd: str
    args: tuple[str, ...]


def install_recipe(plan: NodePlan, profile: OSProfile, urls: RecipeURLs) -> BootRecipe:
    """The node's boot recipe; ``BuildError`` when nothing can install this node (a release
    no spec 3 config serves, a CoreOS node with no disk to install to, a URL a boot
    script cannot take).

    coreos-installer takes a named disk from kernel arguments; when root device hints
    choose it, the live config's unit runs coreos-installer instead (``install``)."""
    spec_version(plan, profile)  # the release can be served at all
    names = {
        role: f"{name}{urls.asset_query}"
        for role, name in profile.artifacts.names(plan.os_version).items()
    }
    for url in (urls.assets, urls.live_config, urls.final_config, urls.asset_query):
        if any(c in url for c in " \t\n$'") or "&&" in url or "||" in url:
            raise BuildError(f"the URL {_shown(url)!r} cannot stand in a boot script")
    args = [
        *profile.live_args,
        f"ignition.config.url={urls.live_config}",
        *profile.console,
        BOOTIF,
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
    return BootRecipe(
        title=f"install {profile.name} {plan.os_version} on {plan.name}",
        kernel=f"{urls.assets}/{names['kernel']}",
        initrd=f"{urls.assets}/{names['initramfs']}",
        args=tuple(args),
    )


def install_script(plan: NodePlan, profile: OSProfile, urls: RecipeURLs) -> str:
    """The iPXE script for ``install_recipe`` (its ``BuildError`` too)."""
    recipe = install_recipe(plan, profile, urls)
    nic = "BOOTIF=01-${netX/mac:hexhyp}"
    args = ["initrd=main", *(nic if a == BOOTIF else a for a in recipe.args)]
    return "\n".join(
        [
            "#!ipxe",
            f"# Strata: {recipe.title}",
            f"kernel {recipe.kernel} {' '.join(args)}",
            f"initrd --name main {recipe.initrd}",
            "boot",
            "",
        ]
    )


def grub_config(recipe: BootRecipe, boot_mac: str) -> str:
    """The GRUB config for ``recipe`` on a machine that booted from ``boot_mac``
    (``aa:bb:…``). ``BuildError`` for a URL GRUB cannot read (not ``http://``)."""
    nic = "BOOTIF=01-" + boot_mac.lower().replace(":", "-")
    args = " ".join(grub_word(nic if a == BOOTIF else a) for a in recipe.args)
    return "\n".join(
        [
            f"# Strata: {recipe.title}",
            f"echo {grub_word('Strata: ' + recipe.title)}",
            f"linux {grub_word(grub_path(recipe.kernel))} {args}",
            f"initrd {grub_word(grub_path(recipe.initrd))}",
            "boot",
            "",
        ]
    )


def grub_path(url: str) -> str:
    """``http://HOST:PORT/PATH?QUERY`` as GRUB names it: ``(http,HOST:PORT)/PATH?QUERY``;
    ``BuildError`` for another scheme (GRUB has no TLS), a user in the URL (GRUB would
    read it as the host) or whitespace (it would end GRUB's request line)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.netloc:
        raise BuildError(f"GRUB reads plain http:// URLs only, not {_shown(url)!r}")
    if "@" in parts.netloc or any(c.isspace() for c in url):
        raise BuildError(f"GRUB cannot read {_shown(url)!r}: a user or whitespace in it")
    query = f"?{parts.query}" if parts.query else ""
    return f"(http,{parts.netloc}){parts.path or '/'}{query}"


def _shown(url: str) -> str:
    """``url`` as an error may show it: without its query, which holds the tokens."""
    return url.split("?", 1)[0] + ("?…" if "?" in url else "")


def grub_word(word: str) -> str:
    """One GRUB word, nothing in it expanded (single quotes hold no quote: GRUB manual,
    "Quoting"); ``BuildError`` for a word with one."""
    if "'" in word or "\n" in word:
        raise BuildError(f"{_shown(word)!r} cannot stand in a GRUB config")
    return f"'{word}'"


def disk_script(plan: NodePlan) -> str:
    """A provisioned node boots from its own disk (iPXE ``sanboot --no-describe --drive 0x80``
    is BIOS-only; ``exit`` hands back to the firmware's next boot entry, the disk)."""
    return f"#!ipxe\n# Strata: {plan.name} is provisioned: boot from disk\nexit\n"


def disk_grub(plan: NodePlan) -> str:
    """A provisioned node boots from its own disk: GRUB's ``exit`` hands back to the
    firmware, which tries its next boot entry."""
    return f"# Strata: {plan.name} is provisioned: boot from disk\nexit\n"
