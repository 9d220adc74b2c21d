"""`strata apply` drives sushy-tools' emulated BMCs; simulated machines boot against the
boot service it runs; `strata status`, `events` and `retry` read and steer the result."""

from __future__ import annotations

from typing import Any

from tests.support.boot_server import free_port


def test_apply_takes_every_node_from_declared_to_provisioned(make_fleet: Any) -> None:
    fleet = make_fleet(12, per_rack=6)
    result = fleet.apply()
    assert result.exit_code == 0, result.output
    assert set(fleet.states().values()) == {"provisioned"}
    for machine in fleet.machines.machines.values():
        assert machine.errors == []
        assert machine.power_ons == 1  # one power-on, into the installer
        assert machine.boots == ["net", "disk"]  # then the installed OS from its disk
    assert "registering -> inspecting (bmc-ok)" in result.output
    assert "installing -> provisioned (installed)" in result.output
    assert "plan for emulated: 12 to create" in result.output
    assert "apply finished" in result.output

    again = fleet.apply()  # nothing left to do: nothing touched
    assert again.exit_code == 0, again.output
    assert "plan for emulated: 12 unchanged" in again.output
    assert all(m.power_ons == 1 for m in fleet.machines.machines.values())
    plan = fleet.strata("plan", "-f", str(fleet.file), "-o", "json")
    assert {a["kind"] for a in __import__("json").loads(plan.output)["actions"]} == {"unchanged"}


def test_failures_name_their_step_and_reason_and_retry_recovers(make_fleet: Any) -> None:
    down_bmc = f"redfish+http://127.0.0.1:{free_port()}/redfish/v1/Systems/x"  # nothing listens
    fleet = make_fleet(4, addresses={0: down_bmc}, macs={1: "52:54:00:ee:ee:01"})
    down, cabled, silent, good = (s.name for s in fleet.systems)
    fleet.machines.by_name(silent).skip_ignition = 1  # boots iPXE, never fetches its config
    limits = ("--timeout", "registering=3", "--timeout", "booting=3")
    result = fleet.apply(*limits)
    assert result.exit_code == 1, result.output
    nodes = fleet.status()["nodes"]
    assert nodes[good]["state"] == "provisioned"
    assert (nodes[down]["state"], nodes[down]["step"]) == ("failed", "registering")
    assert "the BMC gave no answer in 3 s; last error: " in nodes[down]["reason"]
    assert "power state: no answer from the BMC" in nodes[down]["reason"]
    assert (nodes[cabled]["state"], nodes[cabled]["step"]) == ("failed", "inspecting")
    assert (
        "NIC 52:54:00:ee:ee:01 (eth0) is in topology.yaml but not reported"
        in (nodes[cabled]["reason"])
    )
    assert fleet.machines.by_name(cabled).power_ons == 0  # caught before anything was written
    assert (nodes[silent]["state"], nodes[silent]["step"]) == ("failed", "booting")
    assert "fetched no Ignition config within 3 s" in nodes[silent]["reason"]
    assert "failed " + silent in result.output

    retried = fleet.strata("retry", silent, "--file", str(fleet.file))
    assert retried.exit_code == 0, retried.output
    again = fleet.apply(*limits)
    assert again.exit_code == 1  # the other two are still failed: nobody retried them
    assert fleet.states()[silent] == "provisioned"
    assert fleet.machines.by_name(silent).boots == ["net", "net", "disk"]
    log = fleet.strata("events", silent, "--file", str(fleet.file), "-o", "json").output
    assert '"event": "retry"' in log and '"event": "timeout"' in log
