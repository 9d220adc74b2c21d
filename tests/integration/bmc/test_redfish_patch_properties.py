"""Every PATCH names only properties the resource has, with values its
``@Redfish.AllowableValues`` allow (DSP0266); what cannot be sent is refused before
anything is, naming what the BMC allows. What reached the BMC is read from the mock."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from strata.bmc import BMCFault, BootDevice, BootMode, NotSupported
from strata.bmc.types import BMCDriver
from tests.integration.bmc.conftest import driver
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_mock import RedfishMock
from tests.support.redfish_quirks import boot_without_mode, extended_error
from tests.support.redfish_vendors import VENDORS, Vendor, build_vendor

IMAGE = "http://10.0.0.1:8080/assets/flatcar/4081.2.0/flatcar.iso"
DELL = VENDORS["dell-idrac9"]


def connect(mock: RedfishMock, vendor: Vendor, password: str) -> BMCDriver:
    return driver(f"redfish+http://127.0.0.1:{mock.port}{vendor.system}", password)


def boot_patches(mock: RedfishMock, vendor: Vendor) -> list[dict[str, object]]:
    return [
        r.body["Boot"] for r in mock.taken("PATCH", vendor.system) if r.body and "Boot" in r.body
    ]


@pytest.fixture
def started() -> Iterator[list[RedfishMock]]:
    mocks: list[RedfishMock] = []
    yield mocks
    for mock in mocks:
        mock.stop()


@pytest.mark.parametrize("vendor", sorted(VENDORS), ids=lambda name: name)
def test_a_boot_object_without_a_mode_gets_one_patch_without_it(
    vendor: str, password: str, started: list[RedfishMock]
) -> None:
    v = VENDORS[vendor]
    mock = boot_without_mode(v, USERNAME, password)
    started.append(mock)
    connect(mock, v, password).set_boot_device(BootDevice.PXE, BootMode.UEFI)
    assert boot_patches(mock, v) == [
        {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}
    ]
    assert mock.get(v.system)["Boot"]["BootSourceOverrideTarget"] == "Pxe"


def test_a_mode_the_bmc_cannot_take_is_left_out_and_recorded(
    password: str, started: list[RedfishMock], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="strata.bmc")
    mock = boot_without_mode(DELL, USERNAME, password)
    started.append(mock)
    connect(mock, DELL, password).set_boot_device(BootDevice.DISK, BootMode.LEGACY)
    assert boot_patches(mock, DELL) == [
        {"BootSourceOverrideTarget": "Hdd", "BootSourceOverrideEnabled": "Once"}
    ]
    assert "without BootSourceOverrideMode" in caplog.text


@pytest.mark.parametrize(
    ("annotation", "allowed", "call", "refused", "offers"),
    [
        (
            "BootSourceOverrideEnabled",
            ["Continuous", "Disabled"],
            {"persistent": False},
            "BootSourceOverrideEnabled Once",
            "allows: Continuous, Disabled",
        ),
        (
            "BootSourceOverrideMode",
            ["UEFI"],
            {"mode": BootMode.LEGACY},
            "BootSourceOverrideMode Legacy",
            "allows: UEFI",
        ),
        (
            "BootSourceOverrideTarget",
            ["None", "Hdd", "Cd"],
            {},
            "BootSourceOverrideTarget Pxe",
            "allows: Cd, Hdd, None",
        ),
    ],
)
def test_a_value_the_bmc_does_not_allow_is_refused_before_any_patch(
    password: str,
    started: list[RedfishMock],
    annotation: str,
    allowed: list[str],
    call: dict[str, object],
    refused: str,
    offers: str,
) -> None:
    mock = build_vendor(DELL, USERNAME, password)
    started.append(mock)
    mock.update(DELL.system, {"Boot": {f"{annotation}@Redfish.AllowableValues": allowed}})
    with pytest.raises(NotSupported) as caught:
        connect(mock, DELL, password).set_boot_device(BootDevice.PXE, **call)  # type: ignore[arg-type]
    assert f"{refused} is not among the values the BMC allows" in str(caught.value)
    assert caught.value.hint == offers
    assert boot_patches(mock, DELL) == []


def test_a_system_without_boot_override_is_refused_before_any_patch(
    password: str, started: list[RedfishMock]
) -> None:
    mock = build_vendor(DELL, USERNAME, password)
    started.append(mock)
    mock.remove(DELL.system, "Boot")
    with pytest.raises(NotSupported, match="no BootSourceOverrideTarget property"):
        connect(mock, DELL, password).set_boot_device(BootDevice.PXE)
    assert mock.calls("PATCH") == []


def test_a_refused_patch_shows_the_bmcs_extended_message(
    password: str, started: list[RedfishMock]
) -> None:
    mock = build_vendor(DELL, USERNAME, password)
    started.append(mock)
    answer = extended_error(
        {
            "MessageId": "IDRAC.2.8.SYS402",
            "Message": "Unable to set the boot source: a BIOS job is pending.",
            "Resolution": "Wait for the pending job to finish, then retry.",
            "Severity": "Informational",
        }
    )
    mock.checks[DELL.system] = lambda body: (400, answer)
    with pytest.raises(BMCFault) as caught:
        connect(mock, DELL, password).set_boot_device(BootDevice.PXE)
    assert "HTTP 400: Unable to set the boot source: a BIOS job is pending. [IDRAC.2.8.SYS402]" in (
        str(caught.value)
    )
    assert caught.value.hint == "Wait for the pending job to finish, then retry."


def test_virtual_media_patch_names_only_the_drives_properties(
    password: str, started: list[RedfishMock]
) -> None:
    """A drive inserted by PATCH (as on Lenovo XCC) that has no WriteProtected."""
    lenovo = VENDORS["lenovo-xcc"]
    mock = build_vendor(lenovo, USERNAME, password)
    started.append(mock)
    mock.remove(lenovo.media, "WriteProtected")
    mock.checks[lenovo.media] = lambda body: (
        (400, extended_error({"MessageId": "Base.1.8.PropertyUnknown", "Message": "WP"}))
        if "WriteProtected" in body
        else None
    )
    bmc = connect(mock, lenovo, password)
    bmc.insert_media(IMAGE)
    bmc.eject_media()
    assert [r.body for r in mock.calls("PATCH", lenovo.media)] == [
        {"Image": IMAGE, "Inserted": True},
        {"Image": None, "Inserted": False},
    ]
    assert mock.get(lenovo.media)["Inserted"] is False
