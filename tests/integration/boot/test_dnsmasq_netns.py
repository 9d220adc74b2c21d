"""Real dnsmasq gives a QEMU machine its reserved address and the boot file, on a private bridge
in a network namespace this test makes; the machine then boots from `strata serve` there.

Inside the namespace: bridge br0 (192.168.110.2/24, the lab's provisioning network), a tap
device for the machine, dnsmasq, and the boot service. Nothing leaves the namespace. Needs
root (CI runs as root); without it the test fails and says so, rather than skip.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.boot.dhcp import IPXE_BINARIES, DHCPConfig, Dnsmasq
from strata.lab.image import stand_ins_for
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.machines import qemu_command

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples/lab/topology.yaml"
SERVER = "192.168.110.2"
LISTEN = f"{SERVER}:8080"
MAC, RESERVED = "52:54:00:10:00:01", "192.168.110.11"  # lab-cp-0 in topology.yaml


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


@pytest.fixture
def netns() -> Iterator[str]:
    assert os.geteuid() == 0, "this test builds a network namespace: run it as root (CI does)"
    name = f"strata-{secrets.token_hex(3)}"
    sh("ip", "netns", "add", name)
    try:
        inside = ("ip", "netns", "exec", name)
        sh(*inside, "ip", "link", "set", "lo", "up")
        sh(*inside, "ip", "link", "add", "br0", "type", "bridge")
        sh(*inside, "ip", "addr", "add", f"{SERVER}/24", "dev", "br0")
        sh(*inside, "ip", "tuntap", "add", "tap0", "mode", "tap")
        sh(*inside, "ip", "link", "set", "tap0", "master", "br0")
        sh(*inside, "ip", "link", "set", "tap0", "up")
        sh(*inside, "ip", "link", "set", "br0", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def test_reserved_address_boot_file_and_boot(netns: str, tmp_path: Path) -> None:
    inside = ("ip", "netns", "exec", netns)
    state = tmp_path / "strata.db"
    stand_ins_for(tmp_path / "mirror", build_plan(load(LAB)).nodes)  # the kernel it fetches next
    # strata serve runs dnsmasq (state dir/dhcp); its leases are read back through the same class
    dhcp = Dnsmasq(DHCPConfig("br0", load(LAB).networks["provisioning"], "", tmp_path / "dhcp"))
    serve = subprocess.Popen(
        [
            *inside,
            sys.executable,
            "-m",
            "strata.cli.app",
            "serve",
            "-f",
            str(LAB),
            "--listen",
            f"{SERVER}:8080",
            "--state",
            str(state),
            "--artifacts",
            str(tmp_path / "mirror"),
            "--provision",
            "lab-cp-0",
            "--dhcp-interface",
            "br0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    machine = subprocess.Popen(
        [*inside, *qemu_command("tap,id=n0,ifname=tap0,script=no,downscript=no", MAC)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        fetched = False
        while time.monotonic() < deadline and not fetched:
            time.sleep(0.5)
            if state.exists():
                fetched = any(
                    e.kind == "ipxe-fetched" for e in SQLiteStore(state).events("lab-cp-0")
                )
        leases = dhcp.leases()
        log = (tmp_path / "dhcp" / "dnsmasq.log").read_text(errors="replace")
    finally:
        machine.kill()
        machine.wait(10)
        serve.terminate()
        serve.wait(10)
    assert [(lease.mac, lease.ip, lease.hostname) for lease in leases] == [
        (MAC, RESERVED, "lab-cp-0")
    ], log
    assert f"DHCPACK(br0) {RESERVED} {MAC} lab-cp-0" in log
    assert f"http://{SERVER}:8080/boot.ipxe" in log  # the boot file offered to iPXE
    assert fetched, "the machine never fetched its script from strata serve"
    deadline = time.monotonic() + 10  # dnsmasq goes with strata serve
    while (
        subprocess.run(["pgrep", "-f", str(tmp_path / "dhcp")], capture_output=True).returncode == 0
    ):
        assert time.monotonic() < deadline, "dnsmasq outlived strata serve"
        time.sleep(0.2)


def test_reload_is_a_sighup_for_reservations_and_a_restart_for_the_config(
    netns: str, tmp_path: Path
) -> None:
    topology = load(LAB)
    plan = build_plan(topology)
    config = DHCPConfig("br0", topology.networks["provisioning"], f"http://{SERVER}:8080", tmp_path)
    dhcp = Dnsmasq(config, prefix=("ip", "netns", "exec", netns))
    dhcp.start(plan)
    try:
        first = dhcp.process
        assert first is not None
        time.sleep(0.5)
        moved = dataclasses.replace(plan, nodes=plan.nodes[:2])  # lab-worker-1 leaves
        dhcp.reload(moved)
        assert dhcp.process is first and first.poll() is None  # a SIGHUP, not a restart
        assert "lab-worker-1" not in (tmp_path / "hosts").read_text()
        dhcp.config = dataclasses.replace(config, proxy=True)
        dhcp.reload(moved)
        assert dhcp.process is not first and first.poll() is not None  # a new configuration
        assert dhcp.process is not None and dhcp.process.poll() is None
        log = (tmp_path / "dnsmasq.log").read_text()
        assert "read " + str(tmp_path / "hosts") in log  # dnsmasq re-read its reservations
    finally:
        dhcp.stop()


HTTP_BOOT = "HTTPClient:Arch:00016:UNDI:003001"  # what UEFI HTTP Boot firmware sends


def _ask(client: str, mac: str, arch: int, vendor: str | None) -> dict[str, Any]:
    """What dnsmasq offers a client of ``arch`` in namespace ``client`` (a namespace of its
    own: the kernel drops a packet whose source is one of its own addresses)."""
    out = subprocess.run(
        ["ip", "netns", "exec", client, sys.executable, "-m", "tests.support.dhcp_client"]
        + ["vc0", mac, str(arch)]
        + ([vendor] if vendor else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    offer: dict[str, Any] = json.loads(out.stdout)
    return offer


def test_each_client_architecture_gets_its_boot_file(netns: str, tmp_path: Path) -> None:
    """UEFI HTTP Boot (arch 16, HTTPClient) gets an http:// URL and HTTPClient back, and the
    URL serves the EFI binary; PXE clients get TFTP names by architecture; arm64, which has
    no iPXE binary here, gets no boot file rather than a BIOS one."""
    inside = ("ip", "netns", "exec", netns)
    client = f"{netns}-c"
    sh("ip", "netns", "add", client)
    sh(*inside, "ip", "link", "add", "vc0", "type", "veth", "peer", "name", "vb0")
    sh(*inside, "ip", "link", "set", "vc0", "netns", client)
    sh(*inside, "ip", "link", "set", "vb0", "master", "br0")
    sh(*inside, "ip", "link", "set", "vb0", "up")
    sh("ip", "netns", "exec", client, "ip", "link", "set", "vc0", "up")
    base = f"http://{SERVER}:8080"
    dhcp = Dnsmasq(
        DHCPConfig("br0", load(LAB).networks["provisioning"], base, tmp_path / "dhcp"),
        prefix=inside,
    )
    command = [*inside, sys.executable, "-m", "strata.cli.app", "serve", "-f", str(LAB)]
    serve = subprocess.Popen(
        [*command, "--listen", LISTEN, "--state", str(tmp_path / "s.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dhcp.start(build_plan(load(LAB)))
    try:
        http = _ask(client, "52:54:00:99:00:16", 16, HTTP_BOOT)
        assert http["boot_file"] == f"{base}/firmware/ipxe.efi"
        assert http["options"]["60"] == "HTTPClient"
        efi = _ask(client, "52:54:00:99:00:07", 7, "PXEClient:Arch:00007:UNDI:003016")
        assert efi["boot_file"] == "ipxe.efi" and efi["options"].get("60") != "HTTPClient"
        bios = _ask(client, "52:54:00:99:00:00", 0, "PXEClient:Arch:00000:UNDI:002001")
        assert bios["boot_file"] == "undionly.kpxe"
        arm64 = _ask(client, "52:54:00:99:00:11", 11, "PXEClient:Arch:00011:UNDI:003016")
        assert arm64["boot_file"] == ""  # refused: no binary, rather than a BIOS one
        fetched = tmp_path / "fetched.efi"
        for _ in range(100):  # strata serve takes a moment to listen
            got = subprocess.run(
                [*inside, "curl", "-sf", "-o", str(fetched), http["boot_file"]], timeout=30
            )
            if got.returncode == 0:
                break
            time.sleep(0.2)
        assert fetched.read_bytes() == (IPXE_BINARIES / "ipxe.efi").read_bytes()
    finally:
        dhcp.stop()
        serve.terminate()
        serve.wait(10)
        subprocess.run(["ip", "netns", "del", client], capture_output=True, timeout=30)
