"""UEFI HTTP Boot in the lab, to provisioned: a one-server lab (the example's control
plane alone) whose node boots ``{method: http, firmware: uefi}`` behind the lab's
Redfish BMC. `strata apply` sets the one-time override ``UefiHttp`` (UEFI mode) through sushy and powers it on; the lab
machine starts OVMF with PXE off and a NIC without iPXE's ROM, whose own HTTP Boot
client asks Strata's dnsmasq as client architecture 16, is given
``http://BOOT/firmware/ipxe.efi``, downloads it; Debian's ipxe.efi asks for the node's
script, boots the stand-in OS's kernel (EFI stub, ``initrd=main``), which fetches its
Ignition config and reports installed. Needs root, as the lab does (CI runs as root)."""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path

from ruamel.yaml import YAML

from strata.store import SQLiteStore
from tests.integration.lab.test_lab_end_to_end import LAB, strata
from tests.support.kube_api import assets_dir

NODE = "lab-cp-0"


def _topology(name: str) -> str:
    """The lab example with its control plane alone, booting ``{method: http, firmware:
    uefi}`` through its Redfish BMC (its IPMI fallback dropped: IPMI has no HTTP boot)."""
    yaml = YAML()
    doc = yaml.load(LAB.read_text())
    doc["metadata"]["name"] = name
    rack = doc["regions"][0]["zones"][0]["racks"][0]
    (node,) = [n for n in rack["nodes"] if n["name"] == NODE]
    node["bmc"] = {"address": f"redfish://192.168.100.11/redfish/v1/Systems/{NODE}"}
    node["boot"] = {"method": "http", "firmware": "uefi"}
    rack["nodes"] = [node]
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def test_a_uefi_machine_boots_over_http_to_provisioned(tmp_path: Path) -> None:
    assert os.geteuid() == 0, "the lab builds a network namespace: run this test as root (CI does)"
    name = f"uefi{secrets.token_hex(2)}"
    file = tmp_path / "topology.yaml"
    file.write_text(_topology(name))
    env = {**os.environ, "STRATA_LAB_BMC_PASSWORD": secrets.token_hex(8), "COLUMNS": "120"}
    env["KUBEBUILDER_ASSETS"] = str(assets_dir())  # lab up starts its Kubernetes stand-in
    up = strata("lab", "up", "-f", str(file), env=env, timeout=300)
    assert up.returncode == 0, up.stderr
    namespace = f"strata-{name}"
    lab = tmp_path / ".strata" / "lab"
    try:
        applied = strata(
            *("apply", "-f", str(file), "--listen", "192.168.110.1:8080"),
            *("--dhcp-interface", "prov0", "--until", "provisioned", "--no-pivot"),
            *("-o", "json"),
            env=env,
            timeout=900,
            inside=namespace,
        )
        console = (lab / f"{NODE}.console.log").read_text(errors="replace")
        assert applied.returncode == 0, (
            applied.stdout[-2000:] + applied.stderr[-2000:] + console[-3000:]
        )
        changes = [json.loads(line) for line in applied.stdout.splitlines()]
        assert [c["node"] for c in changes if c["to"] == "provisioned"] == [NODE]
        qemu = (lab / f"{NODE}.qemu.log").read_text(errors="replace")
        assert "URI: http://192.168.110.1:8080/firmware/ipxe.efi" in console, console[-3000:]
        assert "Start PXE" not in console, qemu[-2000:]  # OVMF's HTTP Boot, not PXE
        assert "strata-lab: reported installed" in console
        store = SQLiteStore(tmp_path / ".strata" / "strata.db", read_only=True)
        try:
            events = store.events(NODE)
        finally:
            store.close()
        (fetched,) = [e.detail for e in events if e.kind == "ipxe-fetched"]
        assert fetched["platform"] == "efi"  # ipxe.efi asked: the UEFI road to the end
        booted = [e.detail for e in events if e.detail.get("to") == "booting"]
        assert [b["method"] for b in booted] == ["http"]
        leases = (tmp_path / ".strata" / "dhcp" / "dnsmasq.log").read_text(errors="replace")
        assert "http://192.168.110.1:8080/firmware/ipxe.efi" in leases  # the arch-16 answer
    finally:
        down = strata("lab", "down", "-f", str(file), env=env, timeout=300)
    assert down.returncode == 0, down.stderr
