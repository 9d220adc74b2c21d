"""A PATCH body from what the resource has (DSP0266, "Allowable values")."""

from __future__ import annotations

import pytest

from strata.bmc.redfish_patch import Refused, Want, patch_body

BOOT = {
    "BootSourceOverrideTarget": "None",
    "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd"],
    "BootSourceOverrideEnabled": "Disabled",
}


def test_properties_the_resource_lacks_are_left_out() -> None:
    body, left_out = patch_body(
        BOOT,
        {
            "BootSourceOverrideTarget": Want("Pxe", required=True),
            "BootSourceOverrideEnabled": Want("Once"),
            "BootSourceOverrideMode": Want("UEFI"),
        },
    )
    assert body == {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}
    assert left_out == ("BootSourceOverrideMode",)


def test_a_required_property_it_lacks_is_refused() -> None:
    with pytest.raises(Refused, match="has no Image property") as caught:
        patch_body({}, {"Image": Want("http://x/y.iso", required=True)})
    assert caught.value.offers is None


def test_a_value_outside_the_allowable_values_is_refused_naming_them() -> None:
    with pytest.raises(Refused) as caught:
        patch_body(BOOT, {"BootSourceOverrideTarget": Want("UefiHttp", required=True)})
    assert str(caught.value) == (
        "BootSourceOverrideTarget UefiHttp is not among the values the BMC allows"
    )
    assert caught.value.offers == "allows: Hdd, None, Pxe"


def test_booleans_and_nulls() -> None:
    drive = {"WriteProtected": True, "WriteProtected@Redfish.AllowableValues": [False]}
    with pytest.raises(Refused, match="WriteProtected true is not among") as caught:
        patch_body(drive, {"WriteProtected": Want(True)})
    assert caught.value.offers == "allows: false"
    assert patch_body({"Image": "x"}, {"Image": Want(None)}) == ({"Image": None}, ())
