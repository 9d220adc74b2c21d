"""Virtual media on the lab's Redfish BMC, driven by Strata's Redfish driver (sushy): the
BMC reads the node's image from a real boot service, QEMU boots it as a CD, and the
image's loader asks the boot service for the node's install script: on BIOS real iPXE
(Debian's ipxe.lkrn, started by ISOLINUX) asks ``/ipxe``; on UEFI (OVMF) Debian's GRUB,
from the image's ESP, asks ``/grub``. Eject empties the drive. User networking here
(the host is 10.0.2.2 inside): no root needed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.bmc import BootDevice, BootMode, NotSupported, PowerAction
from strata.bmc.redfish_media import find_cd
from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.boot.media import MediaError, MediaFiles, media_url
from strata.lab.machines import LabMachine
from strata.lab.redfish import LabBMC
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.integration.bmc.conftest import FAST, driver
from tests.support.boot_server import RunningServer, free_port

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"
NODE = "lab-worker-0"
UEFI_NODE = "lab-worker-1"  # the example's virtual media on UEFI
BOOT_SECONDS = 240  # SeaBIOS, ISOLINUX, iPXE and its DHCP (or OVMF, GRUB) under TCG, loaded


@pytest.fixture(params=[NODE])
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The boot service, the lab's Redfish BMC and the machine of ``request.param``."""
    name: str = request.param
    plan = build_plan(load(LAB))
    node = next(n for n in plan.nodes if n.name == name)
    try:
        MediaFiles().check(uefi=node.firmware == "uefi")
    except MediaError as exc:
        pytest.skip(str(exc))
    store = SQLiteStore(tmp_path / "strata.db")
    port = free_port()
    signer = TokenSigner(store.token_key())
    content = BootContent(plan, f"http://10.0.2.2:{port}", signer)
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"))
    boot = RunningServer(service.app, port, guarded=True)  # as Strata serves it: GRUB reads it
    machine = LabMachine(name, node.boot_mac, tmp_path, bootfile="http://10.0.2.2:9/none")
    machines = {name: machine, "no-media": LabMachine("no-media", "52:54:00:12:34:99", tmp_path)}
    machines["no-media"].virtual_media = False
    bmc = RunningServer(LabBMC(machines, "admin", "lab-pw").app, free_port())
    yield {
        "address": f"redfish+http://127.0.0.1:{bmc.port}/redfish/v1/Systems/",
        "machine": machine,
        "store": store,
        "image": media_url(f"http://127.0.0.1:{port}", signer, name, int(time.time()) + 600),
        "boot": boot,
        "node": node,
    }
    machine.power_off()
    bmc.stop()
    boot.stop()


@pytest.mark.parametrize("world", [NODE, UEFI_NODE], indirect=True, ids=["bios", "uefi"])
def test_the_machine_boots_its_image_and_its_loader_asks_for_its_script(
    world: dict[str, Any],
) -> None:
    machine, store, node = world["machine"], world["store"], world["node"]
    uefi = node.firmware == "uefi"
    bmc = driver(world["address"] + node.name, "lab-pw", username="admin", settings=FAST)
    bmc.insert_media(world["image"])
    assert machine.medium is not None and machine.medium.read_bytes()[0x8001:0x8006] == b"CD001"
    assert find_cd(bmc._sys()).inserted  # the BMC says so too, read through sushy
    bmc.set_boot_device(BootDevice.CD, BootMode.UEFI if uefi else BootMode.LEGACY)
    store.begin_attempt(node.name, lifetime=3600)  # /ipxe (/grub) then records the fetch
    bmc.power(PowerAction.ON)
    command = " ".join(map(str, machine.process.args))  # type: ignore[union-attr]
    assert "order=d" in command and ("OVMF" in command) == uefi
    deadline = time.monotonic() + BOOT_SECONDS
    fetched: list[Any] = []
    while not fetched and time.monotonic() < deadline and machine.on:
        time.sleep(1)
        fetched = [e for e in store.events(node.name) if e.kind == "ipxe-fetched"]
    console = machine.console.read_text(errors="replace") if machine.console.exists() else ""
    assert fetched, (
        f"no boot script asked for; boot service saw {world['boot'].log.paths}\n{console[-2000:]}"
    )
    assert fetched[0].detail["via"] == "virtual-media"
    assert fetched[0].detail["mac"] == machine.mac
    assert fetched[0].detail.get("loader") == ("grub" if uefi else None)
    if uefi:  # GRUB's echoes on serial: the image's config, then the recipe it read
        assert f"Strata virtual media for {node.name}" in console
        while "Strata: install flatcar" not in console and time.monotonic() < deadline:
            time.sleep(1)
            console = machine.console.read_text(errors="replace")
        assert f"Strata: install flatcar {node.os_version} on {node.name}" in console, console[
            -2000:
        ]
    bmc.power(PowerAction.OFF)
    bmc.eject_media()
    assert machine.medium is None and not find_cd(bmc._sys()).inserted


def test_an_image_the_bmc_cannot_read_is_refused(world: dict[str, Any]) -> None:
    bmc = driver(world["address"] + NODE, "lab-pw", username="admin", settings=FAST)
    forged = world["image"].split("?token=")[0] + "?token=forged"
    with pytest.raises(Exception, match="HTTP 403"):
        bmc.insert_media(forged)
    assert world["machine"].medium is None


def test_a_bmc_without_virtual_media_says_so(world: dict[str, Any]) -> None:
    bmc = driver(world["address"] + "no-media", "lab-pw", username="admin", settings=FAST)
    with pytest.raises(NotSupported, match="no virtual CD or DVD drive"):
        bmc.insert_media(world["image"])
