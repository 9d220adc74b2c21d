"""Inventory against topology.yaml: mismatches caught, the rest noted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from strata.bmc import DiskInfo, Inventory, NICInfo
from strata.bmc.inspection import inspect_node
from strata.topology import Disk, load

NODE = load(Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml").nodes[0]
GB = 10**9


def inventory(nics: tuple[NICInfo, ...] = (), disks: tuple[DiskInfo, ...] = ()) -> Inventory:
    return Inventory("Contoso", "3500", "SN1", 8, 64.0, "1.0", nics, disks)


def test_a_matching_machine() -> None:
    report = inspect_node(
        NODE,
        inventory(
            (NICInfo("52:54:00:10:00:01", "up"),), (DiskInfo("Disk 0", 20 * GB, "QEMU", "S1"),)
        ),
    )
    assert report.ok and report.notes == ()


def test_a_missing_mac_is_a_mismatch_an_extra_one_a_note() -> None:
    report = inspect_node(NODE, inventory((NICInfo("52:54:00:99:99:99", "up"),)))
    assert report.mismatches == (
        "NIC 52:54:00:10:00:01 (eth0) is in topology.yaml but not reported by the BMC",
    )
    assert "NIC 52:54:00:99:99:99 is reported by the BMC but not in topology.yaml" in report.notes


def test_a_boot_nic_without_link() -> None:
    report = inspect_node(NODE, inventory((NICInfo("52:54:00:10:00:01", "down"),)))
    assert "has no link" in report.mismatches[0]


def test_disks_by_size_model_and_serial() -> None:
    nics = (NICInfo("52:54:00:10:00:01", "up"),)
    too_small = inspect_node(NODE, inventory(nics, (DiskInfo("d", 8 * GB, None, None),)))
    assert too_small.mismatches == ("disk /dev/vda (20 GB) is not among the disks the BMC reports",)
    by_serial = dataclasses.replace(NODE, disks=(Disk("/dev/sda", None, None, "WD-123", None),))
    assert not inspect_node(by_serial, inventory(nics, (DiskInfo("d", GB, None, "WD-999"),))).ok
    assert inspect_node(by_serial, inventory(nics, (DiskInfo("d", GB, None, "WD-123"),))).ok


def test_one_reported_disk_cannot_stand_for_two() -> None:
    two = dataclasses.replace(NODE, disks=(Disk("/dev/sda", 20, None, None, None),) * 2)
    report = inspect_node(
        two, inventory((NICInfo("52:54:00:10:00:01", "up"),), (DiskInfo("d", 20 * GB, None, None),))
    )
    assert len(report.mismatches) == 1


def test_a_bmc_that_reports_nothing_is_noted_not_failed() -> None:
    report = inspect_node(NODE, inventory())
    assert report.ok
    assert len(report.notes) == 2


def test_values_are_compared_in_their_normal_form() -> None:
    """A serial padded with spaces, a MAC in capitals with dashes, a model with doubled
    spaces and a size as a float are the values topology.yaml names."""
    node = dataclasses.replace(
        NODE,
        disks=(
            Disk("/dev/sda", None, None, "S3Z9NB0K123456", None),
            Disk("/dev/sdb", 960, "SAMSUNG MZ7LH960HAJR-00005", None, None),
        ),
    )
    reported = inventory(
        (NICInfo("52-54-00-10-00-01", "up"),),
        (
            DiskInfo("Disk 0", 480 * GB, "x", "S3Z9NB0K123456   "),
            DiskInfo("Disk 1", 960197124096.0, " Samsung  MZ7LH960HAJR-00005", None),  # type: ignore[arg-type]
        ),
    )
    report = inspect_node(node, reported)
    assert report.ok, report.mismatches
    assert report.notes == ()


def test_a_boot_nic_without_link_is_found_whatever_the_case_of_its_mac() -> None:
    report = inspect_node(NODE, inventory((NICInfo("52:54:00:10:00:01".upper(), "down"),)))
    assert report.mismatches == ("the boot NIC 52:54:00:10:00:01 has no link: check its cable",)
