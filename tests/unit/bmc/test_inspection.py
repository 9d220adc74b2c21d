"""Inventory against topology.yaml: mismatches caught, the rest noted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from strata.bmc import DiskInfo, Inventory, NICInfo
from strata.bmc.inspection import inspect_node
from strata.plan import DiskPlan as Disk
from strata.plan import NodePlan, build_plan
from strata.topology import load
from strata.topology.settings import RootDeviceHints

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"
NODE = build_plan(load(LAB)).nodes[0]
GB = 10**9


def inventory(nics: tuple[NICInfo, ...] = (), disks: tuple[DiskInfo, ...] = ()) -> Inventory:
    return Inventory("Contoso", "3500", "SN1", None, 64.0, "1.0", nics, disks)


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


# --- root device hints against the reported disks (the machine) ------------

SERIAL = "S45NNE0M123456"
MODULE = DiskInfo("Disk 0", 32 * GB, "SATADOM-SL 3ME3", "B0C12345", False)
DATA = DiskInfo("Disk 1", 960_197_124_096, "SAMSUNG MZ7LH960HAJR-00005", SERIAL + "    ", False)
NIC = (NICInfo("52:54:00:10:00:01", "up"),)


def hinted(**hints: object) -> NodePlan:
    written = RootDeviceHints(**hints).model_dump(by_alias=True, exclude_none=True)
    return dataclasses.replace(NODE, disks=(), install_disk=None, root_device_hints=written)


def test_the_hinted_serial_picks_the_second_disk() -> None:
    report = inspect_node(hinted(serial_number=SERIAL), inventory(NIC, (MODULE, DATA)))
    assert report.ok
    assert (
        f"rootDeviceHints (serialNumber={SERIAL}) pick Disk 1 (960 GB, "
        f"SAMSUNG MZ7LH960HAJR-00005, serial {SERIAL})"
    ) in report.notes


def test_no_reported_disk_matches_is_a_mismatch_before_power_on() -> None:
    report = inspect_node(hinted(serial_number="NOT-THERE"), inventory(NIC, (MODULE, DATA)))
    assert report.mismatches == (
        "no disk the BMC reports matches rootDeviceHints (serialNumber=NOT-THERE): "
        "Disk 0 (32 GB, SATADOM-SL 3ME3, serial B0C12345); "
        f"Disk 1 (960 GB, SAMSUNG MZ7LH960HAJR-00005, serial {SERIAL})",
    )


def test_two_reported_disks_matching_is_a_mismatch() -> None:
    report = inspect_node(hinted(min_size_gigabytes=30), inventory(NIC, (MODULE, DATA)))
    assert report.mismatches == (
        "2 disks the BMC reports match rootDeviceHints (minSizeGigabytes=30) (Disk 0, Disk 1): "
        "the install would refuse; narrow the hints, e.g. with serialNumber",
    )


def test_what_the_bmc_cannot_answer_is_left_to_the_installer() -> None:
    may = inspect_node(hinted(hctl="0:0:0:0"), inventory(NIC, (MODULE, DATA)))
    assert may.ok and any("may match Disk 0, Disk 1" in n for n in may.notes)
    one = inspect_node(hinted(model="samsung", hctl="1:0:0:0"), inventory(NIC, (MODULE, DATA)))
    assert one.ok and any("can match only Disk 1" in n for n in one.notes)
    none = inspect_node(hinted(serial_number=SERIAL), inventory(NIC, ()))
    assert none.ok and any("not checked: the BMC reports no disks" in n for n in none.notes)


def test_a_named_install_disk_is_not_held_to_hints() -> None:
    assert not any(
        "rootDeviceHints" in n for n in inspect_node(NODE, inventory(NIC, (DATA,))).notes
    )


def test_the_cpus_are_noted_as_sockets_cores_and_threads() -> None:
    """A 2-socket Dell R650 (2 x 28 cores, SMT on) reads 112 threads, not 112 CPUs."""
    counted = dataclasses.replace(inventory(), cpu_sockets=2, cpu_cores=56, cpu_threads=112)
    assert inspect_node(NODE, counted).notes[0] == "CPUs: 2 sockets, 56 cores, 112 threads"
    threads_only = dataclasses.replace(inventory(), cpu_threads=8)
    assert inspect_node(NODE, threads_only).notes[0] == "CPUs: 8 threads"
    assert not any(n.startswith("CPUs") for n in inspect_node(NODE, inventory()).notes)
