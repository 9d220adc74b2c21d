"""The seed's live root, built once per session from Debian's packages (and cached across
sessions under ~/.cache/strata/seed by the digest of its inputs), and a way to boot a
seed image in QEMU (TCG) and read its serial console.

Needs root (mmdebstrap, chroot), the Debian packages ./dev test installs (mmdebstrap
squashfs-tools isolinux syslinux-common grub-efi-amd64-bin mtools dosfstools ovmf
qemu-system-x86) and PyPI. Without them the tests skip, saying what is missing; under
CI=true they fail instead. A cold build takes minutes (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from strata.lab.machines import OVMF_CODE, OVMF_VARS
from strata.seed.image import SeedImage, build_image
from strata.seed.rootfs import LiveRoot, live_root

START_LINE = "strata seed: starting"  # what `strata seed start` prints first
PACKAGES = (
    "apt-get install mmdebstrap squashfs-tools isolinux syslinux-common grub-efi-amd64-bin "
    "mtools dosfstools ovmf qemu-system-x86"
)
TOOLS = ("mmdebstrap", "mksquashfs", "grub-mkimage", "mkfs.fat", "mcopy", "qemu-system-x86_64")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes minutes (a Debian live root, QEMU boots)")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":  # ./dev test installs them; CI runs as root
        pytest.fail(reason + " (CI always has them)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def seed_root() -> LiveRoot:
    """The live system (kernel, initrd, squashfs), built or taken from the cache."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        _unavailable(f"needs root and {', '.join(missing) or 'the tools'}: {PACKAGES}")
    return live_root(progress=lambda line: print(line, file=sys.stderr, flush=True))


@pytest.fixture(scope="session")
def boot_image(seed_root: LiveRoot, tmp_path_factory: pytest.TempPathFactory) -> SeedImage:
    """A seed image with a one-file payload: enough to boot to the start line."""
    out = tmp_path_factory.mktemp("seed") / "boot.iso"
    return build_image(out, {"README.txt": b"a boot test's seed\n"}, root=seed_root)


@dataclass
class Booted:
    """A QEMU machine booting a seed image; its serial console in a file."""

    process: subprocess.Popen[bytes]
    console: Path
    started: float

    def text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def wait_for(self, line: str, timeout: float) -> float:
        """Seconds from QEMU's start until ``line`` is on the console; fails the test
        with the console's tail when QEMU ends or ``timeout`` (a hang guard) passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.text():
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                break
            time.sleep(1)
        tail = self.text()[-3000:]
        pytest.fail(f"{line!r} not on the console (QEMU rc={self.process.poll()}):\n{tail}")


def qemu_command(image: Path, how: str, workdir: Path) -> list[str]:
    """QEMU (TCG) booting ``image`` as ``how``: "bios-cd" (SeaBIOS, IDE CD), "uefi-cd"
    (q35 + OVMF, SATA CD), "bios-usb" (SeaBIOS, a raw disk on usb-storage behind xHCI,
    as the image is after ``dd`` to a stick) or "uefi-usb" (the same with OVMF). Serial
    console to a file."""
    qemu = shutil.which("qemu-system-x86_64")
    assert qemu is not None
    cdrom = ("-drive", f"file={image},media=cdrom,readonly=on,format=raw")
    usb = (
        *("-drive", f"if=none,id=usb,format=raw,snapshot=on,file={image}"),
        *(
            "-device",
            "qemu-xhci,id=xhci",
            "-device",
            "usb-storage,bus=xhci.0,drive=usb,bootindex=0",
        ),
    )
    machines = {
        "bios-cd": ("-machine", "pc,accel=tcg", *cdrom, "-boot", "d"),
        "uefi-cd": (
            *("-machine", "q35,accel=tcg"),
            *("-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}"),
            *("-drive", f"if=pflash,format=raw,file={_vars(workdir)}"),
            *cdrom,
        ),
        "bios-usb": ("-machine", "pc,accel=tcg", *usb),
        "uefi-usb": (
            *("-machine", "q35,accel=tcg"),
            *("-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}"),
            *("-drive", f"if=pflash,format=raw,file={_vars(workdir)}"),
            *usb,
        ),
    }
    return [
        qemu,
        *machines[how],
        *("-m", "1536", "-display", "none", "-monitor", "none", "-net", "none"),
        *("-serial", f"file:{workdir / 'console.log'}", "-no-reboot"),
    ]


def _vars(workdir: Path) -> Path:
    """A private copy of OVMF's variable store (the firmware writes to it)."""
    if not OVMF_CODE.exists():
        _unavailable(f"{OVMF_CODE} is missing: apt-get install ovmf")
    copy = workdir / "OVMF_VARS.fd"
    shutil.copy(OVMF_VARS, copy)
    return copy


@contextmanager
def booted_at_once(commands: Mapping[str, list[str]], work: Path) -> Iterator[dict[str, Booted]]:
    """Starts each QEMU command at once (under TCG each guest uses one core: on 2
    cores, N machines take about half the wall time of N in turn), each with its own
    ``work/<name>/`` (the command writes its serial console to ``console.log`` there);
    kills whatever still runs on leaving."""
    booted: dict[str, Booted] = {}
    try:
        for name, command in commands.items():
            log = (work / name / "qemu.log").open("wb")
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
            booted[name] = Booted(process, work / name / "console.log", time.monotonic())
        yield booted
    finally:
        for machine in booted.values():
            if machine.process.poll() is None:
                machine.process.kill()
                machine.process.wait(30)


def run_strata(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """``strata ARGS`` as a process (this interpreter), no terminal, output captured;
    ``env`` (default: this one) and ``timeout`` (seconds, a hang guard) as given."""
    return subprocess.run(
        [sys.executable, "-m", "strata.cli.app", *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env=dict(env if env is not None else os.environ), timeout=timeout, check=False,
    )  # fmt: skip


def with_bmc_password() -> dict[str, str]:
    """This environment with the seed topology's BMC password (``tests.unit.seed``)."""
    from tests.unit.seed.conftest import PASSWORD

    return os.environ | {"STRATA_LAB_BMC_PASSWORD": PASSWORD}
