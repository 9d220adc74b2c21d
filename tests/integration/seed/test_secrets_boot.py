"""A seed image that `strata seed build` made, booted in QEMU (TCG) as a CD, its kernel
command line given directly (QEMU's -kernel/-initrd/-append with the image's own kernel
and initrd: the menus' line plus what a person would add at ISOLINUX's prompt):

- with a wrong ``strata.seed.passphrase=``, the console says the passphrase does not
  open the secrets, and nothing starts;
- with none, `strata seed start` asks at the console (stdin is the console's terminal)
  and starts nothing until answered;
- with the right one, it unseals the secrets, finds the seed node's NIC by its MAC, gives
  it the node's address, and runs `strata apply`, which derives its boot URL from that
  address, shows the plan, and (this topology's seed carrying no artifact mirror) stops
  before powering anything on, naming the artifacts missing from the medium. The seed
  then serves that outcome over HTTP on its provisioning address (read from the host
  through QEMU's user network, given the provisioning network's addresses and a
  forwarded port), and all it printed is on the screen (tty1) as well as the serial
  console: read from the VGA's text memory through QEMU's monitor (``pmemsave``).

No secret is on the console (the passphrase only in the kernel's echo of its own
command line). Each boot takes a minute or more on 2 cores (2-4 min under load here); the three boot at once."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.seed.boot_files import kernel_args
from strata.seed.rootfs import LiveRoot
from tests.integration.seed.conftest import (
    START_LINE,
    Booted,
    booted_at_once,
    run_strata,
    with_bmc_password,
)
from tests.support.boot_server import free_port
from tests.unit.seed.conftest import PASSWORD, seed_topology

PHRASE = "seed-passphrase-4417"  # no space: the kernel line takes it bare
HANG_GUARD = 900.0  # seconds, per boot
SEED_MAC = "52:54:00:10:00:04"  # lab-seed's NIC on the provisioning network


@pytest.fixture(scope="module")
def image(seed_root: LiveRoot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("seed-boot")
    site = work / "site"
    site.mkdir()
    topology = seed_topology(site)
    (work / "phrase").write_text(PHRASE + "\n")
    built = run_strata(
        "seed", "build", str(topology), "-o", str(work / "seed.iso"), "--node", "lab-seed",
        "--passphrase-file", str(work / "phrase"), env=with_bmc_password(), timeout=1800,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return work / "seed.iso"


KERNEL_LINES = {  # what each test's machine is given on its kernel command line
    "wrong": "strata.seed.passphrase=not-the-one",
    "none": "",
    "right": f"strata.seed.passphrase={PHRASE}",
}


@pytest.fixture(scope="module")
def machines(
    image: Path, seed_root: LiveRoot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Booted]]:
    """The three machines, booted at once."""
    qemu = shutil.which("qemu-system-x86_64")
    assert qemu is not None
    work = tmp_path_factory.mktemp("seed-consoles")
    commands = {}
    for name, extra in KERNEL_LINES.items():
        (work / name).mkdir()
        commands[name] = [
            qemu, "-machine", "pc,accel=tcg", "-m", "1536",
            "-kernel", str(seed_root.kernel), "-initrd", str(seed_root.initrd),
            "-append", f"{kernel_args(screen=False)} {extra}".strip(),
            "-drive", f"file={image},media=cdrom,readonly=on,format=raw",
            "-nic", f"user,model=virtio-net-pci,mac={SEED_MAC}"
            + (PROVISIONING if name == "right" else ""),
            "-display", "none", "-monitor", f"unix:{work / name / 'monitor'},server=on,wait=off",
            "-serial", f"file:{work / name / 'console.log'}", "-no-reboot",
        ]  # fmt: skip
    with booted_at_once(commands, work) as booted:
        yield booted


# The right passphrase's machine: QEMU's user network as the lab's provisioning network
# (QEMU's own address .2), the seed's status port forwarded from the host's STATUS_PORT
STATUS_PORT = free_port()
PROVISIONING = (
    ",net=192.168.110.0/24,host=192.168.110.2,dhcpstart=192.168.110.200"
    f",hostfwd=tcp:127.0.0.1:{STATUS_PORT}-192.168.110.14:8090"
)


def _screen(machine: Booted) -> str:
    """The text in the VGA's memory (0xB8000, 32 KiB: the screen and what vgacon scrolled
    off above it), read through QEMU's monitor: each cell a character then its colour."""
    dump = machine.console.parent / "vga.bin"
    relative = os.path.relpath(dump)  # QEMU's cwd is ours; "32768 /x" would be a division
    with socket.socket(socket.AF_UNIX) as monitor:
        monitor.connect(str(machine.console.parent / "monitor"))
        monitor.sendall(f"pmemsave 0xb8000 32768 {relative}\n".encode())
        deadline = time.monotonic() + 60
        while not (dump.exists() and dump.stat().st_size == 32768):
            assert time.monotonic() < deadline, "QEMU's monitor wrote no pmemsave"
            time.sleep(0.5)
    return dump.read_bytes()[0::2].decode("cp437")


def _settled(machine: Booted, line: str) -> str:
    seconds = machine.wait_for(line, HANG_GUARD)
    print(f"{line!r} after {seconds:.0f} s")
    time.sleep(5)  # what follows the line, had anything followed it
    text = machine.text()
    assert (
        START_LINE in text
        and PASSWORD not in text
        and PHRASE
        not in text.replace(
            f"strata.seed.passphrase={PHRASE}",
            "",  # the kernel echoes its own command line
        )
    )
    return text


def test_a_wrong_passphrase_on_the_kernel_line_starts_nothing(
    machines: dict[str, Booted],
) -> None:
    text = _settled(machines["wrong"], "does not open the seed's secrets")
    assert "running: strata apply" not in text and "run directory" not in text


def test_without_a_passphrase_the_console_asks_and_nothing_starts(
    machines: dict[str, Booted],
) -> None:
    text = _settled(machines["none"], "seed passphrase:")
    assert "running: strata apply" not in text and "run directory" not in text


def test_with_the_passphrase_the_seed_runs_apply_on_its_address(
    machines: dict[str, Booted],
) -> None:
    text = _settled(machines["right"], "machines reach the boot service")
    assert "unsealed with the passphrase from the kernel command line" in text
    assert "gets 192.168.110.14/24" in text
    assert "running: strata apply" in text
    assert "machines reach the boot service at http://192.168.110.14:8080" in text
    assert "plan for lab: 4 to create" in text

    machine = machines["right"]
    exited = _settled(machine, "strata seed: apply exited")
    assert "status: http://192.168.110.14:8090/status" in exited
    with urllib.request.urlopen(f"http://127.0.0.1:{STATUS_PORT}/status.json", timeout=30) as r:
        body = r.read().decode()
    assert PASSWORD not in body and PHRASE not in body
    seed = json.loads(body)["seed"]
    assert seed["topology"] == "lab" and seed["phase"].startswith("apply exited ")

    screen = _screen(machine)  # tty1: what the serial console showed, there too
    for line in (START_LINE, "gets 192.168.110.14/24", "running: strata apply",
                 "plan for lab: 4 to create", "strata seed: apply exited"):  # fmt: skip
        assert line in screen, f"{line!r} not on tty1:\n{screen}"
    assert PASSWORD not in screen
