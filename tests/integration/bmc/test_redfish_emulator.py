"""The Redfish driver against sushy-tools' emulator (fake driver, many systems).

What the driver did is checked through a second client: plain HTTP GETs of
the emulator's resources, not the driver's own reading.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from strata.bmc import (
    AuthenticationFailed,
    BMCFault,
    BootDevice,
    BootMode,
    PowerAction,
    PowerState,
)
from tests.integration.bmc.conftest import driver
from tests.support.redfish_emulator import USERNAME, Emulator


def raw(emulator: Emulator, path: str) -> dict[str, Any]:
    """The emulator's own view of a resource (an independent client)."""
    answer = requests.get(
        f"http://127.0.0.1:{emulator.port}{path}", auth=(USERNAME, emulator.password), timeout=5
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def address(emulator: Emulator, system_path: str) -> str:
    return f"{emulator.url}{system_path}"


def test_power_on_off_and_the_state_settles(emulator: Emulator, password: str) -> None:
    system = emulator.take()[0]
    bmc = driver(address(emulator, system.path), password)
    assert bmc.power_state() is PowerState.OFF
    assert bmc.power(PowerAction.ON) is PowerState.ON
    assert raw(emulator, system.path)["PowerState"] == "On"
    assert bmc.power(PowerAction.ON) is PowerState.ON  # idempotent
    assert bmc.power(PowerAction.OFF) is PowerState.OFF
    assert raw(emulator, system.path)["PowerState"] == "Off"


@pytest.mark.parametrize("action", [PowerAction.RESET, PowerAction.CYCLE])
def test_restart_actions_end_on(emulator: Emulator, password: str, action: PowerAction) -> None:
    system = emulator.take()[0]
    bmc = driver(address(emulator, system.path), password)
    assert bmc.power(action) is PowerState.ON  # from off: starts the machine
    assert bmc.power(action) is PowerState.ON  # from on: restarts it
    assert raw(emulator, system.path)["PowerState"] == "On"


def test_graceful_off(emulator: Emulator, password: str) -> None:
    system = emulator.take()[0]
    bmc = driver(address(emulator, system.path), password)
    bmc.power(PowerAction.ON)
    assert bmc.power(PowerAction.GRACEFUL_OFF) is PowerState.OFF
    assert raw(emulator, system.path)["PowerState"] == "Off"


@pytest.mark.parametrize(
    ("device", "mode", "target", "redfish_mode"),
    [
        (BootDevice.PXE, BootMode.UEFI, "Pxe", "UEFI"),
        (BootDevice.PXE, BootMode.LEGACY, "Pxe", "Legacy"),
        # sushy-tools records UefiHttp without an HttpBootUri as Pxe (its main.py,
        # "Reset to Pxe"); the exact PATCH is checked on the vendor trees.
        (BootDevice.HTTP, BootMode.UEFI, "Pxe", "UEFI"),
        (BootDevice.CD, BootMode.UEFI, "Cd", "UEFI"),
        (BootDevice.DISK, BootMode.LEGACY, "Hdd", "Legacy"),
    ],
)
def test_boot_device_and_mode(
    emulator: Emulator,
    password: str,
    device: BootDevice,
    mode: BootMode,
    target: str,
    redfish_mode: str,
) -> None:
    system = emulator.take()[0]
    driver(address(emulator, system.path), password).set_boot_device(device, mode)
    boot = raw(emulator, system.path)["Boot"]
    assert boot["BootSourceOverrideTarget"] == target
    assert boot["BootSourceOverrideMode"] == redfish_mode


@pytest.fixture
def iso_server(tmp_path: Path) -> Iterator[str]:
    """A small ISO on a local HTTP server: the emulator downloads what it inserts."""
    (tmp_path / "boot.iso").write_bytes(b"\0" * 32768 + b"CD001" + b"\0" * 2043)

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/boot.iso"
    server.shutdown()
    server.server_close()


def test_virtual_media_insert_and_eject(emulator: Emulator, password: str, iso_server: str) -> None:
    system = emulator.take()[0]
    bmc = driver(address(emulator, system.path), password)
    bmc.insert_media(iso_server)
    cd = raw(emulator, f"{system.path}/VirtualMedia/Cd")
    assert cd["Inserted"] is True
    assert cd["Image"] == iso_server
    bmc.insert_media(iso_server)  # the same image again: nothing to do
    bmc.eject_media()
    assert raw(emulator, f"{system.path}/VirtualMedia/Cd")["Inserted"] is False
    bmc.eject_media()  # idempotent


def test_inventory(emulator: Emulator, password: str) -> None:
    system = emulator.take()[0]
    inventory = driver(address(emulator, system.path), password).inventory()
    assert [nic.mac for nic in inventory.nics] == [system.mac]
    assert inventory.manufacturer == raw(emulator, system.path).get("Manufacturer")
    assert inventory.bmc_firmware is not None
    assert inventory.disks == ()  # the emulator has no Storage configured


def test_many_systems_at_once(emulator: Emulator, password: str) -> None:
    systems = emulator.take(24)
    drivers = [driver(address(emulator, s.path), password, node=s.name) for s in systems]
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        states = list(pool.map(lambda d: d.power(PowerAction.ON), drivers))
    assert states == [PowerState.ON] * len(systems)
    assert {raw(emulator, s.path)["PowerState"] for s in systems} == {"On"}


def test_calls_on_one_bmc_from_many_threads_are_serialized(
    emulator: Emulator, password: str
) -> None:
    system = emulator.take()[0]
    bmc = driver(address(emulator, system.path), password)
    actions = [PowerAction.ON, PowerAction.OFF] * 4
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(bmc.power, actions))
    assert results == [a.settles_at for a in actions]


def test_an_address_without_system_needs_one_when_the_bmc_has_several(
    emulator: Emulator, password: str
) -> None:
    with pytest.raises(BMCFault) as caught:
        driver(emulator.url, password).power_state()
    assert f"manages {len(emulator.systems) + len(emulator.named)} systems" in str(caught.value)
    assert "/redfish/v1/Systems/<id>" in str(caught.value)


def test_wrong_password_is_an_authentication_failure_not_retried(
    emulator: Emulator, password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    system = emulator.take()[0]
    bmc = driver(address(emulator, system.path), "wrong-" + password, node="node-x")
    with pytest.raises(AuthenticationFailed) as caught:
        bmc.power_state()
    text = str(caught.value)
    assert "node node-x" in text and system.path in text
    assert password not in text and password not in all_logs.text
    assert "bmc retry" not in all_logs.text
    assert json.dumps(caught.value.as_json())
