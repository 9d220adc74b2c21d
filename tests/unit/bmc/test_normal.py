"""The normal form BMC values are compared in."""

from __future__ import annotations

import pytest

from strata.bmc import normal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("S3Z9NB0K123456   ", "S3Z9NB0K123456"),  # right-padded (SMBIOS, many Redfish BMCs)
        ("     WD-WCC4E1234567", "WD-WCC4E1234567"),  # ATA IDENTIFY: right-justified
        ("CN-0042\x00\x00", "CN-0042"),  # IPMI FRU field padded with NULs
        ("SAMSUNG  MZ7LH960HAJR-00005 ", "SAMSUNG MZ7LH960HAJR-00005"),
        ("   ", None),
        ("", None),
        (None, None),
        (42, "42"),
        (True, None),
        (["a"], None),
    ],
)
def test_text(raw: object, expected: str | None) -> None:
    assert normal.text(raw) == expected


def test_serials_compare_padded_split_and_in_any_case() -> None:
    assert normal.serial_key("S3Z9NB0K123456   ") == normal.serial_key("s3z9nb0k123456")
    assert normal.serial_key("S3Z9 NB0K 123456") == normal.serial_key("S3Z9NB0K123456")
    assert normal.serial_key("S3Z9NB0K123456") != normal.serial_key("S3Z9NB0K123457")
    assert normal.serial_key("  ") is None


def test_models_and_vendors_compare_without_case_and_padding() -> None:
    assert normal.key("Dell Inc.  ") == normal.key("DELL INC.")
    assert normal.key("INTEL SSDSC2KB960G8") != normal.key("SSDSC2KB960G8")  # no guessing


@pytest.mark.parametrize(
    "raw",
    [
        "52:54:00:AA:0B:CC",
        "52-54-00-aa-0b-cc",
        "5254.00aa.0bcc",
        "525400AA0BCC",
        " 52:54:0:aa:b:cc ",  # unpadded octets
    ],
)
def test_macs(raw: str) -> None:
    assert normal.mac(raw) == "52:54:00:aa:0b:cc"


def test_what_is_no_mac() -> None:
    assert normal.mac("00:00:00:00:00:00") is None
    assert normal.mac(None) is None and normal.mac("") is None
    assert normal.mac("Not Available") == "not available"  # kept, matches nothing real


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (960197124096, 960197124096),
        (960197124096.0, 960197124096),
        (" 960197124096 ", 960197124096),
        ("1.2e12", 1_200_000_000_000),
        (0, None),
        (-1, None),
        ("960 GB", None),
        (float("nan"), None),
        (True, None),
        (None, None),
    ],
)
def test_sizes(raw: object, expected: int | None) -> None:
    assert normal.size_bytes(raw) == expected
