"""UEFI HTTP Boot on a real UEFI firmware: OVMF asks real dnsmasq for an address as an
HTTP Boot client (DHCP client architecture 16), is given the boot service's
/firmware/ipxe.efi URL with HTTPClient in option 60, downloads and starts it over HTTP;
iPXE then asks `strata serve` for the machine's script. In a network namespace this
test makes (as test_dnsmasq_netns.py). Needs root (CI runs as root)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from strata.lab.image import stand_ins_for
from strata.lab.machines import LabMachine
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.integration.boot.test_dnsmasq_netns import LAB, MAC, SERVER, netns  # noqa: F401

BOOT_SECONDS = 300  # OVMF under TCG, its DHCP and HTTP download, then iPXE's


def test_ovmf_boots_ipxe_over_http_and_ipxe_asks_for_its_script(
    netns: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    inside = ("ip", "netns", "exec", netns)
    state = tmp_path / "strata.db"
    stand_ins_for(tmp_path / "mirror", build_plan(load(LAB)).nodes)
    serve = subprocess.Popen(
        [
            *(*inside, sys.executable, "-m", "strata.cli.app", "serve", "-f", str(LAB)),
            *("--listen", f"{SERVER}:8080", "--state", str(state)),
            *("--artifacts", str(tmp_path / "mirror"), "--provision", "lab-cp-0"),
            *("--dhcp-interface", "br0"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lab = LabMachine("uefi", MAC, tmp_path, tap="tap0")  # the lab's UEFI HTTP Boot machine
    console = lab.console
    machine = subprocess.Popen(
        [*inside, *lab.command("n", uefi=True), "-no-reboot"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        fetched: list[object] = []
        deadline = time.monotonic() + BOOT_SECONDS
        while time.monotonic() < deadline and not fetched and machine.poll() is None:
            time.sleep(1)
            if state.exists():
                events = SQLiteStore(state, read_only=True).events("lab-cp-0")
                fetched = [e for e in events if e.kind == "ipxe-fetched"]
        log = (tmp_path / "dhcp" / "dnsmasq.log").read_text(errors="replace")
    finally:
        machine.kill()
        machine.wait(10)
        serve.terminate()
        serve.wait(10)
    seen = console.read_text(errors="replace") if console.exists() else ""
    assert f"http://{SERVER}:8080/firmware/ipxe.efi" in log, log[-3000:]  # the HTTP Boot answer
    assert fetched, f"iPXE never asked for its script\n{seen[-3000:]}"
    assert fetched[0].detail["platform"] == "efi"  # type: ignore[attr-defined]
    assert f"URI: http://{SERVER}:8080/firmware/ipxe.efi" in seen  # OVMF's own HTTP Boot
    assert "Start PXE" not in seen  # ... not PXE
