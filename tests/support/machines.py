"""A QEMU machine that network-boots with Debian's iPXE firmware (TCG: no KVM needed)."""

from __future__ import annotations

import shutil


def qemu_command(netdev: str, mac: str) -> list[str]:
    """``netdev``: QEMU's -netdev value, e.g. ``user,id=n0,bootfile=…`` or ``tap,id=n0,…``."""
    binary = shutil.which("qemu-system-x86_64")
    assert binary, (
        "QEMU is missing: ./dev test installs it (apt-get install qemu-system-x86 ipxe-qemu)"
    )
    return [
        binary,
        "-machine",
        "accel=tcg",
        "-m",
        "128",
        "-display",
        "none",
        "-no-reboot",
        "-boot",
        "n",
        "-netdev",
        netdev,
        "-device",
        f"e1000,netdev=n0,mac={mac}",
    ]


def uefi_http_boot_command(netdev: str, mac: str, variables: str) -> list[str]:
    """A UEFI machine (OVMF, q35) whose firmware boots over HTTP: a virtio NIC with no
    option ROM (OVMF's own network stack, not iPXE's), PXE switched off by OVMF's fw_cfg
    knobs, so its first network boot is UEFI HTTP Boot (DHCP client architecture 16).
    ``variables``: a writable copy of OVMF_VARS.fd."""
    binary = shutil.which("qemu-system-x86_64")
    assert binary, "QEMU is missing: ./dev test installs it (apt-get install qemu-system-x86)"
    code = "/usr/share/OVMF/OVMF_CODE.fd"
    return [
        binary,
        *("-machine", "q35,accel=tcg", "-m", "512", "-display", "none", "-no-reboot"),
        *("-drive", f"if=pflash,format=raw,readonly=on,file={code}"),
        *("-drive", f"if=pflash,format=raw,file={variables}"),
        *("-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"),
        *("-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"),
        *("-netdev", netdev, "-device", f"virtio-net-pci,netdev=n0,mac={mac},romfile="),
    ]
