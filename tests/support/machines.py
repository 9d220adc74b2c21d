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
