"""Virtual media through sushy-tools' emulator: `strata apply` inserts each node's image
(the emulator downloads it from the boot service, as its InsertMedia does), sets a
one-time CD boot, and ejects the image once the install reports."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from tests.support.fleet_topology import PASSWORD_ENV
from tests.support.redfish_emulator import USERNAME

VIRTUAL_MEDIA = "{method: virtualmedia, firmware: bios}"


def test_virtual_media_nodes_install_from_their_image_which_is_then_ejected(
    make_fleet: Any,
) -> None:
    fleet = make_fleet(3, boots={1: VIRTUAL_MEDIA, 2: VIRTUAL_MEDIA})
    result = fleet.apply()
    assert result.exit_code == 0, result.output
    assert set(fleet.states().values()) == {"provisioned"}
    network, *media = fleet.systems
    assert fleet.machines.by_name(network.name).boots == ["net", "disk"]
    for system in media:
        machine = fleet.machines.by_name(system.name)
        assert machine.errors == []
        assert (machine.boots, machine.power_ons) == (["cd", "disk"], 1)
        assert machine.media is None  # ejected once the install reported
        (script,) = machine.media_fetched
        assert f"/ipxe?mac={system.mac}&via=virtual-media" in script
        drive = _emulator_cd(fleet, system.path)
        assert drive["Inserted"] is False and not drive.get("Image")
        log = json.loads(
            fleet.strata("events", system.name, "--file", str(fleet.file), "-o", "json").output
        )
        fetched = [e for e in log if e["kind"] == "ipxe-fetched"]
        assert fetched and fetched[0]["detail"]["via"] == "virtual-media"
        kinds = [e["kind"] for e in log]
        assert kinds.index("media-ejected") > kinds.index("installed")
    assert not fleet.machines.by_name(network.name).media_fetched


def _emulator_cd(fleet: Any, system_path: str) -> dict[str, Any]:
    """The emulator's own view of the system's virtual CD (its VirtualMedia/Cd)."""
    base = fleet.systems[0].path  # any system: the emulator's URL is in the topology
    url = next(
        line.split("'")[1]
        for line in fleet.file.read_text().splitlines()
        if base in line and "address" in line
    ).removeprefix("redfish+")
    root = url[: url.index("/redfish/v1")]
    answer = httpx.get(
        f"{root}{system_path}/VirtualMedia/Cd",
        auth=(USERNAME, os.environ[PASSWORD_ENV]),
        timeout=30,
    )
    answer.raise_for_status()
    drive: dict[str, Any] = answer.json()
    return drive
