"""The BMC inputs of issue 12, each through `strata bmc` / `strata inspect` as a person runs
them, against BMCs served on 127.0.0.1 (tests/support/redfish_quirks.py, the IPMI simulator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from tests.integration.bmc.conftest import running_ipmi_simulator
from tests.integration.bmc.test_ipmi import ipmitool
from tests.integration.bmc.topologies import node_entry, write_topology
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_mock import RedfishMock
from tests.support.redfish_quirks import (
    OTHER_CONFLICT,
    boot_without_mode,
    powering_on,
    refusing_resets,
    with_drives,
)
from tests.support.redfish_vendors import VENDORS

DELL = VENDORS["dell-idrac9"]
MAC = "52:54:00:12:00:01"
SERIAL = "S3Z9NB0K123456"


@pytest.fixture
def started() -> Iterator[list[RedfishMock]]:
    mocks: list[RedfishMock] = []
    yield mocks
    for mock in mocks:
        mock.stop()


def one_node(
    tmp_path: Path, mock: RedfishMock, disks: list[dict[str, object]] | None = None
) -> Path:
    address = f"redfish+http://127.0.0.1:{mock.port}{DELL.system}"
    return write_topology(tmp_path, USERNAME, [node_entry(0, "n1", address, MAC, disks)])


def run(file: Path, password: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [*args[:1], "-f", str(file), *args[1:]],
        env={"EMULATED_BMC_PASSWORD": password, "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def test_bootdev_on_a_bmc_without_boot_mode(
    tmp_path: Path, password: str, started: list[RedfishMock]
) -> None:
    mock = boot_without_mode(DELL, USERNAME, password)
    started.append(mock)
    assert run(one_node(tmp_path, mock), password, "bmc", "n1", "bootdev", "pxe") == (
        0,
        "bootdev=pxe mode=uefi persistent=False\n",
    )
    patches = [r.body for r in mock.calls("PATCH", DELL.system)]
    assert patches == [
        {"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}
    ]


def test_on_while_the_system_reads_powering_on(
    tmp_path: Path, password: str, started: list[RedfishMock]
) -> None:
    mock = powering_on(DELL, USERNAME, password, 3.0)
    started.append(mock)
    assert run(one_node(tmp_path, mock), password, "bmc", "n1", "on") == (0, "power=on\n")


def test_a_conflict_for_another_reason_shows_the_bmcs_message(
    tmp_path: Path, password: str, started: list[RedfishMock]
) -> None:
    mock = refusing_resets(DELL, USERNAME, password, 409, OTHER_CONFLICT)
    started.append(mock)
    code, out = run(one_node(tmp_path, mock), password, "bmc", "n1", "on")
    assert code == 1
    assert "error (bmc-fault): node n1" in out and "HTTP 409" in out
    assert "The chassis power budget does not allow another server to start." in out
    assert "Raise the chassis power cap or power off another server." in out


def test_inspect_finds_a_drive_whose_serial_is_padded(
    tmp_path: Path, password: str, started: list[RedfishMock]
) -> None:
    drive = {"Id": "Disk.0", "CapacityBytes": 960197124096, "Model": "MZ7LH960HAJR"}
    mock = with_drives(DELL, USERNAME, password, [{**drive, "SerialNumber": SERIAL + "   "}])
    started.append(mock)
    file = one_node(tmp_path, mock, [{"name": "/dev/sda", "serialNumber": SERIAL}])
    code, out = run(file, password, "inspect", "-o", "json")
    assert code == 0, out
    assert json.loads(out)["nodes"][0] == {
        "node": "n1",
        "ok": True,
        "mismatches": [],
        "notes": ["NICs not checked: the BMC reports no MAC addresses"],
    }
    other = one_node(tmp_path, mock, [{"name": "/dev/sda", "serialNumber": "S3Z9NB0K999999"}])
    assert run(other, password, "inspect")[0] == 1  # a different serial is still a mismatch


def test_ipmi_bootdev_when_the_bmc_refuses_parameter_3(tmp_path: Path, password: str) -> None:
    with running_ipmi_simulator(password, "--refuse-boot-param", "3") as sim:
        file = write_topology(tmp_path, "admin", [node_entry(0, "n1", sim.address, MAC)])
        assert run(file, password, "bmc", "n1", "bootdev", "pxe")[0] == 0
        shown = ipmitool(sim, password, "chassis", "bootparam", "get", "5")
    assert "Force PXE" in shown
