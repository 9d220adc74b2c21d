"""Vendor Redfish layouts (Dell, HPE, Lenovo, Supermicro, DMTF), where vendors differ most:
virtual media (on the Manager or the System; InsertMedia action or PATCH) and boot override.
What reached the BMC is read from the mock's request record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from strata.bmc import BMCFault, BootDevice, BootMode, NotSupported, PowerAction, PowerState
from strata.bmc.types import BMCDriver
from tests.integration.bmc.conftest import driver
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_mock import RedfishMock
from tests.support.redfish_quirks import extended_error
from tests.support.redfish_vendors import VENDORS, Vendor, build_vendor

IMAGE = "http://10.0.0.1:8080/assets/flatcar/4081.2.0/flatcar.iso"


@pytest.fixture(params=sorted(VENDORS), ids=lambda name: name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return VENDORS[request.param]


@pytest.fixture
def bmc(vendor: Vendor, password: str) -> Iterator[tuple[RedfishMock, BMCDriver]]:
    mock = build_vendor(vendor, USERNAME, password)
    yield mock, driver(f"redfish+http://127.0.0.1:{mock.port}{vendor.system}", password)
    mock.stop()


def boot_patches(mock: RedfishMock, vendor: Vendor) -> list[dict[str, object]]:
    return [
        r.body["Boot"] for r in mock.taken("PATCH", vendor.system) if r.body and "Boot" in r.body
    ]


def test_one_time_pxe_in_the_current_mode(
    vendor: Vendor, bmc: tuple[RedfishMock, BMCDriver]
) -> None:
    mock, bmc_driver = bmc
    bmc_driver.set_boot_device(BootDevice.PXE, BootMode.UEFI)
    assert boot_patches(mock, vendor) == [
        {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}
    ]
    assert mock.get(vendor.system)["Boot"]["BootSourceOverrideTarget"] == "Pxe"


def test_uefi_http_boot(vendor: Vendor, bmc: tuple[RedfishMock, BMCDriver]) -> None:
    """Where the BMC lists no UefiHttp target (CIMC 4.1, X13), refused before any PATCH."""
    mock, bmc_driver = bmc
    if "UefiHttp" not in vendor.boot_targets:
        with pytest.raises(NotSupported) as caught:
            bmc_driver.set_boot_device(BootDevice.HTTP, BootMode.UEFI)
        assert caught.value.hint == "allows: " + ", ".join(sorted(vendor.boot_targets))
        assert mock.calls("PATCH") == []
        return
    bmc_driver.set_boot_device(BootDevice.HTTP, BootMode.UEFI)
    assert boot_patches(mock, vendor)[-1]["BootSourceOverrideTarget"] == "UefiHttp"


def test_persistent_disk_boot_switching_to_legacy(
    vendor: Vendor, bmc: tuple[RedfishMock, BMCDriver]
) -> None:
    """A Boot without BootSourceOverrideMode (every CIMC) gets no mode: it would refuse."""
    mock, bmc_driver = bmc
    bmc_driver.set_boot_device(BootDevice.DISK, BootMode.LEGACY, persistent=True)
    mode = {"BootSourceOverrideMode": "Legacy"} if vendor.boot_mode else {}
    assert boot_patches(mock, vendor) == [
        {"BootSourceOverrideTarget": "Hdd", "BootSourceOverrideEnabled": "Continuous", **mode}
    ]
    assert [r.status for r in mock.calls("PATCH", vendor.system)][-1] == 200


def test_http_boot_needs_uefi_and_sends_nothing(
    vendor: Vendor, bmc: tuple[RedfishMock, BMCDriver]
) -> None:
    mock, bmc_driver = bmc
    with pytest.raises(NotSupported):
        bmc_driver.set_boot_device(BootDevice.HTTP, BootMode.LEGACY)
    assert boot_patches(mock, vendor) == []


def test_virtual_media_insert_and_eject(vendor: Vendor, bmc: tuple[RedfishMock, BMCDriver]) -> None:
    mock, bmc_driver = bmc
    bmc_driver.insert_media(IMAGE)
    media = mock.get(vendor.media)
    assert (media["Inserted"], media["Image"]) == (True, IMAGE)
    if vendor.insert_by == "patch":
        patch = mock.calls("PATCH", vendor.media)[-1].body
        assert patch == {"Image": IMAGE, "Inserted": True, "WriteProtected": True}
    else:
        posts = mock.calls("POST", f"{vendor.media}/Actions/VirtualMedia.InsertMedia")
        assert posts[-1].body is not None and posts[-1].body["Image"] == IMAGE
        for refused in vendor.action_refuses:
            assert refused not in posts[-1].body
        if vendor.needs_transfer_protocol:  # refused once, then sent with the protocol
            assert [p.body and p.body.get("TransferProtocolType") for p in posts] == [None, "HTTP"]
    bmc_driver.eject_media()
    assert mock.get(vendor.media)["Inserted"] is False


def test_power_and_inventory(vendor: Vendor, bmc: tuple[RedfishMock, BMCDriver]) -> None:
    mock, bmc_driver = bmc
    assert bmc_driver.power(PowerAction.ON) is PowerState.ON
    resets = mock.calls("POST", f"{vendor.system}/Actions/ComputerSystem.Reset")
    assert [r.body for r in resets] == [{"ResetType": "On"}]
    inventory = bmc_driver.inventory()
    assert (inventory.manufacturer, inventory.model) == (vendor.manufacturer, vendor.model)
    assert inventory.bmc_firmware == vendor.firmware
    assert inventory.memory_gib == 256


@pytest.mark.parametrize("name", sorted(n for n, v in VENDORS.items() if v.insert_by == "action"))
def test_a_refused_image_names_no_token(name: str, password: str) -> None:
    """A BMC that cannot use the image says so, often echoing the URL (a Base registry
    ActionParameterValueFormatError): a permanent fault (the controller then tries the
    node's next boot method), and the URL's token is not in it."""
    vendor, token = VENDORS[name], "AAAAAP93tokenMustNotLeak-_x"

    def refuse(_: object, body: dict[str, object]) -> tuple[int, dict[str, object]]:
        image = body.get("Image")
        return 400, extended_error(
            {
                "MessageId": "Base.1.8.ActionParameterValueFormatError",
                "Message": f"The value '{image}' for the parameter Image in the action "
                "VirtualMedia.InsertMedia is invalid.",
                "MessageArgs": [image, "Image", "VirtualMedia.InsertMedia"],
                "Severity": "Warning",
            }
        )

    mock = build_vendor(vendor, USERNAME, password)
    mock.actions[f"{vendor.media}/Actions/VirtualMedia.InsertMedia"] = refuse
    try:
        bmc_ = driver(f"redfish+http://127.0.0.1:{mock.port}{vendor.system}", password)
        with pytest.raises(BMCFault) as refused:
            bmc_.insert_media(f"http://10.0.0.1:8080/media/node-a.iso?token={token}")
    finally:
        mock.stop()
    assert not refused.value.transient and "400" in str(refused.value)
    assert token not in str(refused.value)
