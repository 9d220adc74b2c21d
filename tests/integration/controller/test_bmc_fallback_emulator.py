"""bmc.fallback through real drivers: a node whose first BMC address refuses connections
(a closed port: sushy's own connection error) is driven through its fallback, the
emulator's system, to provisioned, with one power-on, and its events say why."""

from __future__ import annotations

import json
from typing import Any

from tests.support.boot_server import free_port


def test_a_node_whose_first_bmc_is_down_provisions_through_its_fallback(make_fleet: Any) -> None:
    down = f"redfish+http://127.0.0.1:{free_port()}/redfish/v1/Systems/1"  # nothing listens
    fleet = make_fleet(2, addresses={1: down}, fallbacks={1: "{system}"})
    result = fleet.apply()
    assert result.exit_code == 0, result.output
    assert set(fleet.states().values()) == {"provisioned"}
    _, fell = fleet.systems
    assert fleet.machines.by_name(fell.name).power_ons == 1
    log = json.loads(
        fleet.strata("events", fell.name, "--file", str(fleet.file), "-o", "json").output
    )
    (switch,) = [e["detail"] for e in log if e["kind"] == "bmc-fallback"]
    assert switch["from"] == down and switch["to"].endswith(fell.path)
    assert "127.0.0.1" in switch["reason"]
