"""The root device hint matcher validate and inspection share: sure, no, or maybe."""

from __future__ import annotations

from typing import Any

import pytest

from strata.topology.root_device import DiskFacts, Match, choose, describe, match

GB = 10**9
SSD = DiskFacts(
    label="/dev/sdb",
    name="/dev/sdb",
    size_bytes=960_197_124_096,
    model="SAMSUNG MZ7LH960HAJR-00005",
    vendor="ATA",
    serial="S45NNE0M123456",
    wwn="0x5002538e40a1b2c3",
    rotational=False,
    hctl="1:0:0:0",
)
UNKNOWN = DiskFacts(label="Disk 1")


@pytest.mark.parametrize(
    ("hints", "verdict"),
    [
        ({"model": "samsung mz7lh960"}, Match.YES),  # a substring, any case
        ({"model": "SAMSUNG_MZ7LH960HAJR"}, Match.YES),  # udev's _ is a space
        ({"model": "MICRON"}, Match.NO),
        ({"vendor": " ata "}, Match.YES),
        ({"serialNumber": "s45nne0m123456"}, Match.YES),
        ({"serialNumber": "S45NNE0M12345"}, Match.NO),  # the whole value, not a part
        ({"wwn": "naa.5002538E40A1B2C3"}, Match.YES),  # sysfs's spelling of udev's 0x…
        ({"wwn": "0x5002538e40a1b2c4"}, Match.NO),
        ({"hctl": "1:0:0:0"}, Match.YES),
        ({"minSizeGigabytes": 960}, Match.YES),  # 960.2 GB
        ({"minSizeGigabytes": 961}, Match.NO),
        ({"rotational": False}, Match.YES),
        ({"rotational": True}, Match.NO),
        ({"deviceName": "/dev/sdb"}, Match.YES),
        ({"deviceName": "/dev/sda"}, Match.NO),
        ({"deviceName": "/dev/disk/by-id/wwn-0x5002538e40a1b2c3"}, Match.MAYBE),  # a link
        ({"model": "samsung", "rotational": True}, Match.NO),  # every hint must hold
    ],
)
def test_each_hint_on_a_disk_with_every_property(hints: dict[str, Any], verdict: Match) -> None:
    assert match(hints, SSD) is verdict


def test_an_unreported_property_is_maybe_never_no() -> None:
    for hints in (
        {"model": "X"},
        {"serialNumber": "X"},
        {"minSizeGigabytes": 1},
        {"hctl": "0:0:0:0"},
    ):
        assert match(hints, UNKNOWN) is Match.MAYBE
    assert match({"model": "X", "serialNumber": "S45NNE0M123456"}, SSD) is Match.NO


def test_choose_splits_sure_from_maybe() -> None:
    small = DiskFacts(label="/dev/sda", name="/dev/sda", size_bytes=32 * GB, rotational=False)
    choice = choose({"minSizeGigabytes": 30, "rotational": False}, [small, SSD, UNKNOWN])
    assert [d.label for d in choice.sure] == ["/dev/sda", "/dev/sdb"]
    assert [d.label for d in choice.maybe] == ["Disk 1"]
    assert (
        describe({"serialNumber": "S1", "rotational": False}) == "serialNumber=S1, rotational=false"
    )
