"""Strata on Redfish trees shaped like captures of real BMCs (Dell R650 / iDRAC 9 5.10,
HPE DL360 Gen10 Plus / iLO 5 2.55, Supermicro X13, Cisco C220 M5 / CIMC 4.1; see
tests/support/redfish_hardware.py and redfish_vendors.py): inventory in sockets, cores
and threads, drives wherever the BMC keeps them, NIC links as reported, power actions
with the ResetType values each offers, weak and strong ETags. What reached the BMC is
read from the mock's request record."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.bmc import BootDevice, NotSupported, PowerAction, PowerState
from strata.bmc.types import BMCDriver
from strata.cli.app import cli
from tests.integration.bmc.conftest import driver
from tests.integration.bmc.topologies import node_entry, write_topology
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_hardware import EXPECTED
from tests.support.redfish_mock import RedfishMock
from tests.support.redfish_vendors import VENDORS, Vendor, build_vendor

CAPTURED = sorted(EXPECTED)
Serve = Callable[[Vendor], tuple[RedfishMock, BMCDriver]]
X13, CIMC, ILO = VENDORS["supermicro-x13"], VENDORS["cisco-cimc"], VENDORS["hpe-ilo5"]


@pytest.fixture
def serve(password: str) -> Iterator[Serve]:
    mocks: list[RedfishMock] = []

    def start(vendor: Vendor) -> tuple[RedfishMock, BMCDriver]:
        mock = build_vendor(vendor, USERNAME, password)
        mocks.append(mock)
        return mock, driver(f"redfish+http://127.0.0.1:{mock.port}{vendor.system}", password)

    yield start
    for mock in mocks:
        mock.stop()


def resets(mock: RedfishMock, vendor: Vendor) -> list[object]:
    path = f"{vendor.system}/Actions/ComputerSystem.Reset"
    return [r.body and r.body.get("ResetType") for r in mock.calls("POST", path)]


@pytest.mark.parametrize("name", CAPTURED)
def test_inventory_in_the_fields_terms(name: str, serve: Serve) -> None:
    expected = EXPECTED[name]
    _, bmc = serve(VENDORS[name])
    inventory = bmc.inventory()
    cpus = (inventory.cpu_sockets, inventory.cpu_cores, inventory.cpu_threads)
    assert cpus == (expected.sockets, expected.cores, expected.threads)
    assert tuple(d.serial_number for d in inventory.disks) == expected.serials
    assert {n.mac: n.link for n in inventory.nics} == expected.links


def test_drive_ids_with_colons_and_nvme_under_a_cpu(serve: Serve) -> None:
    _, bmc = serve(VENDORS["dell-idrac9"])
    disks = bmc.inventory().disks
    assert [(d.rotational, d.size_bytes) for d in disks] == [
        (True, 2 * 10**12),
        (False, 16 * 10**11),
        (False, 16 * 10**11),
    ]


def test_an_empty_bay_the_bmc_lists_is_skipped_and_logged(
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="strata.bmc")
    _, bmc = serve(CIMC)
    assert len(bmc.inventory().disks) == 2
    assert f"part=drive {CIMC.system}/Storage/MRAID/Drives/10 unavailable=" in caplog.text


def test_a_drive_only_the_chassis_links_is_reported_once(
    serve: Serve,
) -> None:
    mock, bmc = serve(CIMC)
    extra = f"{CIMC.chassis}/Drives/FrontNVMe1"
    mock.put(extra, {"@odata.id": extra, "Id": "FrontNVMe1", "SerialNumber": "NVMECHASSIS1"})
    links = mock.get(CIMC.chassis)["Links"]["Drives"]
    mock.update(CIMC.chassis, {"Links": {"Drives": [*links, {"@odata.id": extra}]}})
    serials = [d.serial_number for d in bmc.inventory().disks]
    assert serials == [*EXPECTED["cisco-cimc"].serials, "NVMECHASSIS1"]


def test_a_drive_linked_in_different_spellings_is_reported_once(serve: Serve) -> None:
    mock, bmc = serve(CIMC)
    bays = [f"{CIMC.system}/Storage/MRAID/Drives/{n}" for n in (1, 2)]
    spellings = [f"{bays[0]}/", f"http://127.0.0.1:{mock.port}{bays[1]}", f"{bays[0]}?$expand=."]
    mock.update(CIMC.chassis, {"Links": {"Drives": [{"@odata.id": s} for s in spellings]}})
    mraid = mock.get(f"{CIMC.system}/Storage/MRAID")
    mraid["Drives"].append({"@odata.id": f"{bays[1]}/"})
    mock.put(f"{CIMC.system}/Storage/MRAID", mraid)
    serials = tuple(d.serial_number for d in bmc.inventory().disks)
    assert serials == EXPECTED["cisco-cimc"].serials


CPU1, CPU2 = (f"{CIMC.system}/Processors/CPU{n}" for n in (1, 2))


@pytest.mark.parametrize(
    ("changes", "summary", "cpus"),
    [
        ({"TotalCores": None, "TotalThreads": None}, {}, (2, None, None)),
        (
            {"TotalCores": None, "TotalThreads": None},
            {"CoreCount": 44, "LogicalProcessorCount": 88},
            (2, 44, 88),
        ),
        ({"TotalThreads": None}, {"LogicalProcessorCount": 88}, (2, 44, 88)),
        ({"ProcessorType": None}, {}, (2, 44, 44)),
        ({"TotalCores": 22.0, "TotalThreads": 22.0}, {}, (2, 44, 44)),
        ({"Status": "OK"}, {}, (2, 44, 44)),  # a string, not an object
    ],
)
def test_cpu_counts_from_members_else_the_summary(
    changes: dict[str, object],
    summary: dict[str, object],
    cpus: tuple[int | None, ...],
    serve: Serve,
) -> None:
    mock, bmc = serve(CIMC)
    for path in (CPU1, CPU2):
        mock.update(path, changes)
    mock.update(CIMC.system, {"ProcessorSummary": summary})
    inventory = bmc.inventory()
    assert (inventory.cpu_sockets, inventory.cpu_cores, inventory.cpu_threads) == cpus


def test_a_chassis_links_written_as_a_list_is_left_out_and_logged(
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="strata.bmc")
    mock, bmc = serve(CIMC)
    mock.update(CIMC.chassis, {"Links": [{"Drives": []}]})
    serials = tuple(d.serial_number for d in bmc.inventory().disks)
    assert serials == EXPECTED["cisco-cimc"].serials
    assert f"part=chassis {CIMC.chassis} unavailable=Links is a list" in caplog.text


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("dell-idrac9", ["PowerCycle"]),
        ("cisco-cimc", ["PowerCycle"]),
        ("hpe-ilo5", ["ForceRestart"]),
        ("supermicro-x13", ["ForceRestart"]),
    ],
)
def test_cycle_picks_what_the_bmc_offers(
    name: str,
    sent: list[str],
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="strata.bmc")
    vendor = VENDORS[name]
    mock, bmc = serve(vendor)
    mock.update(vendor.system, {"PowerState": "On"})
    assert bmc.power(PowerAction.CYCLE) is PowerState.ON
    assert resets(mock, vendor) == sent
    said = "bmc power cycle as ForceRestart"
    assert (said in caplog.text) == (sent == ["ForceRestart"])


def test_cycle_without_restart_is_off_then_on(serve: Serve) -> None:
    mock, bmc = serve(X13)
    action = {"ResetType@Redfish.AllowableValues": ["On", "ForceOff"]}
    mock.update(X13.system, {"PowerState": "On", "Actions": {"#ComputerSystem.Reset": action}})
    assert bmc.power(PowerAction.CYCLE) is PowerState.ON
    assert resets(mock, X13) == ["ForceOff", "On"]


def test_graceful_off_without_graceful_shutdown_is_refused_clearly(
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock, bmc = serve(X13)
    mock.update(X13.system, {"PowerState": "On"})
    with pytest.raises(NotSupported) as caught:
        bmc.power(PowerAction.GRACEFUL_OFF)
    assert (
        "power graceful-off: the BMC offers no graceful shutdown: its ResetType values are "
        "ForceOff, ForceOn, ForceRestart, Nmi, On"
    ) in str(caught.value)
    assert resets(mock, X13) == []
    assert "value='GracefulShutdownGracefulRestart': not a DMTF ResetType" in caplog.text


def test_the_action_info_is_read_when_the_action_lists_nothing(
    serve: Serve,
) -> None:
    mock, bmc = serve(X13)
    mock.update(X13.system, {"PowerState": "On"})
    mock.remove(X13.system, "Actions", "#ComputerSystem.Reset", "ResetType@Redfish.AllowableValues")
    info = mock.get(f"{X13.system}/ResetActionInfo")
    info["Parameters"][0]["AllowableValues"] = ["On", "ForceOff", "PowerCycle"]
    mock.put(f"{X13.system}/ResetActionInfo", info)
    mock.actions[f"{X13.system}/Actions/ComputerSystem.Reset"] = lambda m, body: (204, None)
    assert bmc.power(PowerAction.CYCLE) is PowerState.ON
    assert resets(mock, X13) == ["PowerCycle"]


DELL = VENDORS["dell-idrac9"]
_KEY = "ResetType@Redfish.AllowableValues"


@pytest.mark.parametrize(
    ("vendor", "listed", "sent"),
    [
        (X13, None, ["ForceRestart"]),  # null: the ActionInfo's values, as sushy reads them
        (X13, [], ["ForceRestart"]),
        (DELL, [], ["PowerCycle"]),  # empty, no ActionInfo: every value (sushy's reading)
    ],
)
def test_an_empty_or_null_list_is_read_as_sushy_reads_it(
    vendor: Vendor,
    listed: object,
    sent: list[str],
    serve: Serve,
) -> None:
    mock, bmc = serve(vendor)
    mock.update(vendor.system, {"PowerState": "On"})
    mock.update(vendor.system, {"Actions": {"#ComputerSystem.Reset": {_KEY: listed}}})
    assert bmc.power(PowerAction.CYCLE) is PowerState.ON
    assert resets(mock, vendor) == sent
    if vendor is X13:
        with pytest.raises(NotSupported, match=r"values are ForceOff, ForceOn, ForceRestart"):
            bmc.power(PowerAction.GRACEFUL_OFF)


@pytest.mark.parametrize(
    ("listed", "said"),
    [
        ("PowerCycle", "its ResetType values are 'PowerCycle', not a list"),
        (["on", "powercycle"], "its ResetType values are 'on', 'powercycle' (none a ResetType"),
    ],
)
def test_values_sushy_takes_none_of_are_refused_naming_them(
    listed: object,
    said: str,
    serve: Serve,
) -> None:
    mock, bmc = serve(X13)
    mock.update(X13.system, {"PowerState": "On"})
    mock.update(X13.system, {"Actions": {"#ComputerSystem.Reset": {_KEY: listed}}})
    with pytest.raises(NotSupported) as caught:
        bmc.power(PowerAction.CYCLE)
    assert said in str(caught.value)
    assert resets(mock, X13) == []


@pytest.mark.parametrize(("vendor", "statuses"), [(ILO, [412, 200]), (X13, [200])])
def test_weak_and_strong_etags(
    vendor: Vendor,
    statuses: list[int],
    serve: Serve,
) -> None:
    """iLO's weak tag is refused in If-Match (RFC 9110 compares strongly) and sushy tries
    its strong form; the X13's strong tag is taken at once."""
    mock, bmc = serve(vendor)
    bmc.set_boot_device(BootDevice.PXE)
    patches = mock.calls("PATCH", vendor.system)
    assert [p.status for p in patches] == statuses
    assert mock.get(vendor.system)["Boot"]["BootSourceOverrideTarget"] == "Pxe"


def test_virtual_media_the_system_links_under_the_manager(
    serve: Serve,
) -> None:
    mock, bmc = serve(X13)
    assert mock.get(X13.system)["VirtualMedia"] == {"@odata.id": X13.media_collection}
    bmc.insert_media("http://10.0.0.1/x.iso")
    assert mock.get(X13.media)["Inserted"] is True
    bmc.eject_media()
    assert mock.get(X13.media)["Inserted"] is False


def test_plain_http_is_not_warned_about_tls(
    serve: Serve,
    password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock, _ = serve(CIMC)
    address = f"redfish+http://127.0.0.1:{mock.port}{CIMC.system}"
    assert driver(address, password, insecure=True).power_state() is PowerState.OFF
    assert "tls verification disabled" not in caplog.text


def test_cli_inventory_names_sockets_cores_and_threads(
    tmp_path: Path,
    password: str,
    serve: Serve,
) -> None:
    mock, _ = serve(VENDORS["dell-idrac9"])
    address = f"redfish+http://127.0.0.1:{mock.port}{VENDORS['dell-idrac9'].system}"
    file = write_topology(tmp_path, USERNAME, [node_entry(0, "n1", address, "b8:ce:f6:00:00:01")])
    env = {"EMULATED_BMC_PASSWORD": password, "COLUMNS": "200"}
    shown = CliRunner().invoke(cli, ["bmc", "-f", str(file), "n1", "inventory"], env=env)
    assert re.search(r"cpu sockets\s+│ 2 ", shown.output), shown.output
    assert re.search(r"cpu threads\s+│ 112 ", shown.output), shown.output
    as_json = CliRunner().invoke(
        cli, ["bmc", "-f", str(file), "n1", "inventory", "-o", "json"], env=env
    )
    inventory = json.loads(as_json.output)["inventory"]
    assert (inventory["cpu_sockets"], inventory["cpu_cores"], inventory["cpu_threads"]) == (
        2,
        56,
        112,
    )
    inspected = CliRunner().invoke(cli, ["inspect", "-f", str(file), "-o", "json"], env=env)
    notes = json.loads(inspected.output)["nodes"][0]["notes"]
    assert notes[0] == "CPUs: 2 sockets, 56 cores, 112 threads"
