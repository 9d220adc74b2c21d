"""`strata bmc` and `strata inspect` on a topology whose BMCs are emulated on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from tests.integration.bmc.topologies import node_entry, write_topology
from tests.support.redfish_emulator import USERNAME, Emulator, FakeSystem


def topology(
    tmp_path: Path, emulator: Emulator, systems: list[FakeSystem], macs: list[str]
) -> Path:
    nodes = [
        node_entry(i, s.name, f"redfish+http://127.0.0.1:{emulator.port}{s.path}", mac)
        for i, (s, mac) in enumerate(zip(systems, macs, strict=True))
    ]
    return write_topology(tmp_path, USERNAME, nodes)


def run(file: Path, password: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [*args[:1], "-f", str(file), *args[1:]],
        env={"EMULATED_BMC_PASSWORD": password, "COLUMNS": "160"},
    )
    return result.exit_code, result.output


@pytest.fixture
def two(emulator: Emulator) -> list[FakeSystem]:
    return emulator.take(2)


def test_power_and_boot_device(
    tmp_path: Path, emulator: Emulator, password: str, two: list[FakeSystem]
) -> None:
    file = topology(tmp_path, emulator, two, [s.mac for s in two])
    node = two[0].name
    assert run(file, password, "bmc", node, "status") == (0, "power=off\n")
    assert run(file, password, "bmc", node, "on") == (0, "power=on\n")
    code, out = run(file, password, "bmc", node, "bootdev", "pxe", "--persistent", "-o", "json")
    assert code == 0
    assert json.loads(out) == {
        "node": node,
        "action": "bootdev",
        "bootdev": "pxe",
        "mode": "uefi",
        "persistent": True,
    }


def test_inventory(
    tmp_path: Path, emulator: Emulator, password: str, two: list[FakeSystem]
) -> None:
    file = topology(tmp_path, emulator, two, [s.mac for s in two])
    code, out = run(file, password, "bmc", two[1].name, "inventory", "-o", "json")
    assert code == 0
    assert [n["mac"] for n in json.loads(out)["inventory"]["nics"]] == [two[1].mac]


def test_inspect_finds_a_cabling_mistake(
    tmp_path: Path, emulator: Emulator, password: str, two: list[FakeSystem]
) -> None:
    file = topology(tmp_path, emulator, two, [two[0].mac, "52:54:00:ee:ee:ee"])
    code, out = run(file, password, "inspect")
    assert code == 1
    assert "ok" in out and "1 mismatch(es)" in out and "52:54:00:ee:ee:ee" in out
    code, out = run(file, password, "inspect", two[0].name, "-o", "json")
    assert code == 0
    assert json.loads(out)["nodes"][0]["ok"] is True


def test_a_bmc_error_is_one_clear_line(
    tmp_path: Path, emulator: Emulator, password: str, two: list[FakeSystem]
) -> None:
    file = topology(tmp_path, emulator, two, [s.mac for s in two])
    code, out = run(file, "wrong-password", "bmc", two[0].name, "status")
    assert code == 1
    assert f"error (authentication-failed): node {two[0].name}" in out
    assert "Traceback" not in out and "wrong-password" not in out


def test_missing_credentials_are_named(
    tmp_path: Path, emulator: Emulator, two: list[FakeSystem]
) -> None:
    file = topology(tmp_path, emulator, two, [s.mac for s in two])
    result = CliRunner().invoke(
        cli, ["bmc", "-f", str(file), two[0].name, "status"], env={"EMULATED_BMC_PASSWORD": None}
    )
    assert result.exit_code == 1
    assert "EMULATED_BMC_PASSWORD is not set" in result.output


def test_an_unknown_node(
    tmp_path: Path, emulator: Emulator, password: str, two: list[FakeSystem]
) -> None:
    file = topology(tmp_path, emulator, two, [s.mac for s in two])
    code, out = run(file, password, "bmc", "nope", "status")
    assert code == 2 and "no node nope" in out


def test_bmc_through_the_fallback_address(
    tmp_path: Path, emulator: Emulator, password: str, two: list[FakeSystem]
) -> None:
    """``--fallback``: the node's bmc.fallback, for a node whose first address is down
    (nothing listens there), as the controller goes over to it."""
    from tests.support.boot_server import free_port

    file = topology(tmp_path, emulator, two, [s.mac for s in two])
    node, system = two[1].name, two[1]
    good = f"redfish+http://127.0.0.1:{emulator.port}{system.path}"
    dead = f"redfish+http://127.0.0.1:{free_port()}{system.path}"
    text = file.read_text().replace(
        f'bmc: {{address: "{good}"}}',
        f'bmc: {{address: "{dead}", fallback: {{address: "{good}"}}}}',
    )
    file.write_text(text)
    code, out = run(file, password, "bmc", node, "status")
    assert code != 0 and "unreachable" in out, out
    assert run(file, password, "bmc", node, "status", "--fallback") == (0, "power=off\n")
    code, out = run(file, password, "bmc", two[0].name, "status", "--fallback")
    assert code == 2 and f"node {two[0].name} has no bmc.fallback" in out, out
