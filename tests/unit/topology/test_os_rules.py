"""What the OS install needs from the file fails at validate, at file:line:column: a release
no Ignition spec 3 config serves, a fragment newer than its nodes' release reads, hints that
can pick no disk, a CoreOS node with no disk at all (strata.topology.os_rules, disk_rules)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strata.ignition import fragment_problems
from strata.topology import check_text
from tests.unit.topology.test_rule_findings import (
    BASE,
    N0,
    N1,
    RACK,
    assert_one_error,
    at,
    dump,
    findings,
    put,
)

Edit = Callable[[dict[str, Any]], None]
P1 = "regions[0].zones[0].racks[0].nodes[1]"
SERIAL = "S45NNE0M123456"
MODULE = {
    "name": "/dev/sda",
    "sizeGigabytes": 32,
    "model": "SATADOM-SL 3ME3",
    "serialNumber": "B0C1",
}
DATA = {
    "name": "/dev/sdb",
    "sizeGigabytes": 960,
    "model": "SAMSUNG MZ7LH960",
    "serialNumber": SERIAL,
}


def edits(*steps: Edit) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        for step in steps:
            step(doc)

    return edit


def os_of(path: tuple[str | int, ...], **os: str) -> Edit:
    return lambda doc: at(doc, path).setdefault("os", {}).update(os)


def errors(edit: Edit) -> list[tuple[str, str]]:
    return [(where, message) for severity, where, message in findings(edit) if severity == "error"]


# --- releases --------------------------------------------------------------------

RELEASE_CASES = [
    (
        "Flatcar before Ignition v2.x",
        put(("defaults", "os", "version"), "3139.2.0"),
        "defaults.os.version",
        "Flatcar 3139.2.0 reads no Ignition spec 3 config (only spec 2), and Strata writes spec 3",
    ),
    (
        "Flatcar LTS 2022",
        put(("defaults", "os", "version"), "3033.3.18"),
        "defaults.os.version",
        "Flatcar 3033.3.18 reads no Ignition spec 3 config",
    ),
    (
        "not a Flatcar release number",
        lambda d: at(d, RACK)["defaults"].update(os={"version": "4081"}),
        "regions[0].zones[0].racks[0].defaults.os.version",
        "'4081' is not a Flatcar release (MAJOR.MINOR.PATCH)",
    ),
    (
        "an inherited version that is not the node's OS's",
        edits(os_of(N1, name="fcos"), put((*N1, "installDisk"), "/dev/sda")),
        "defaults.os.version",
        "'4081.2.0' is not a Fedora CoreOS release (FEDORA.YYYYMMDD.STREAM.REVISION)",
    ),
    (
        "RHCOS before OpenShift 4.6",
        edits(os_of(N1, name="rhcos", version="4.5.9"), put((*N1, "installDisk"), "/dev/sda")),
        f"{P1}.os.version",
        "RHEL CoreOS 4.5.9 reads no Ignition spec 3 config",
    ),
]


@pytest.mark.parametrize(
    ("edit", "path", "message"), [c[1:] for c in RELEASE_CASES], ids=[c[0] for c in RELEASE_CASES]
)
def test_a_release_nothing_can_serve(edit: Edit, path: str, message: str) -> None:
    assert_one_error(edit, path, message)


@pytest.mark.parametrize(
    ("os_name", "version"),
    [
        ("flatcar", "3510.2.1"),  # the issue's: served spec 3.3.0
        ("flatcar", "3185.0.0"),
        ("fcos", "31.20200505.3.0"),
        ("rhcos", "4.6.1"),
        ("rhcos", "416.94.202405291527-0"),
    ],
)
def test_every_release_with_an_ignition_spec_3_validates(os_name: str, version: str) -> None:
    assert (
        errors(
            edits(os_of(N1, name=os_name, version=version), put((*N1, "installDisk"), "/dev/sda"))
        )
        == []
    )


def test_the_finding_stands_at_the_version_as_written() -> None:
    doc = copy.deepcopy(BASE)
    doc["defaults"]["os"]["version"] = "3139.2.0"
    text = dump(doc)
    (finding,) = check_text(text, "t.yaml").diagnostics
    line = text.splitlines()[finding.line - 1]
    assert line[finding.column - 1 :].startswith("3139.2.0")
    assert finding.hint == "use Flatcar 3185.0.0 or later"


def test_a_fragment_newer_than_the_release_reads_is_refused_at_its_version(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["defaults"]["os"]["version"] = "3510.2.1"
    doc["defaults"]["ignition"] = [
        {"name": "motd", "inline": {"ignition": {"version": "3.4.0"}, "storage": {"files": []}}}
    ]
    text = dump(doc)
    checked = check_text(text, "t.yaml", tmp_path, fragment_check=fragment_problems)
    (finding,) = checked.diagnostics
    assert finding.render().startswith(
        f"t.yaml:{finding.line}:{finding.column}: error: "
        "defaults.ignition[0].inline.ignition.version: this fragment is Ignition spec 3.4.0; "
        "flatcar 3510.2.1 reads up to 3.3.0 (write it for 3.3.0, or use Flatcar 3535.0.0 or later)"
    )
    assert text.splitlines()[finding.line - 1][finding.column - 1 :].startswith("3.4.0")
    doc["defaults"]["ignition"][0]["inline"]["ignition"]["version"] = "3.3.0"
    again = check_text(dump(doc), "t.yaml", tmp_path, fragment_check=fragment_problems)
    assert again.diagnostics == ()


# --- the disk to install to ----------------------------------------------------------

HINTS = ("defaults", "rootDeviceHints")
DISK_CASES = [
    (
        "FCOS with no device, hints or disks",
        os_of(N1, name="fcos", version="41.20241109.3.0"),
        P1,
        "fcos installs to a disk it is told, and this node names none",
    ),
    (
        "the issue's node: no listed disk has the serial",
        edits(put(HINTS, {"serialNumber": "NOT-" + SERIAL}), put((*N1, "disks"), [MODULE, DATA])),
        f"{P1}.disks",
        f"no disk listed here can match rootDeviceHints (serialNumber=NOT-{SERIAL}; line ",
    ),
    (
        "two listed disks surely match",
        edits(put(HINTS, {"minSizeGigabytes": 30}), put((*N1, "disks"), [MODULE, DATA])),
        f"{P1}.disks",
        "2 disks listed here match rootDeviceHints (minSizeGigabytes=30; line ",
    ),
    (
        "a deviceName outside /dev",
        put(HINTS, {"deviceName": "sda"}),
        "defaults.rootDeviceHints.deviceName",
        "deviceName 'sda' is not a device path",
    ),
    (
        "a deviceName that is a partition",
        put(HINTS, {"deviceName": "/dev/nvme0n1p1"}),
        "defaults.rootDeviceHints.deviceName",
        "deviceName '/dev/nvme0n1p1' is a partition; the OS installs to a whole disk",
    ),
    (
        "an hctl that is no SCSI address",
        put(HINTS, {"hctl": "1:0:0"}),
        "defaults.rootDeviceHints.hctl",
        "'1:0:0' is no SCSI address",
    ),
    (
        "a wwn that is no WWN",
        put(HINTS, {"wwn": "5002538e"}),
        "defaults.rootDeviceHints.wwn",
        "'5002538e' is no World Wide Name",
    ),
    (
        "an empty model",
        put(HINTS, {"model": "  "}),
        "defaults.rootDeviceHints.model",
        "is empty: it matches no disk",
    ),
    (
        "a serial with a newline",
        put(HINTS, {"serialNumber": "S45\nNNE"}),
        "defaults.rootDeviceHints.serialNumber",
        "holds a control character: it matches no disk",
    ),
    (
        "an installDisk that is a partition",
        put((*N1, "installDisk"), "/dev/sda1"),
        f"{P1}.installDisk",
        "installDisk '/dev/sda1' is a partition",
    ),
    (
        "an installDisk none of the listed disks",
        edits(put((*N1, "installDisk"), "/dev/sdc"), put((*N1, "disks"), [MODULE, DATA])),
        f"{P1}.disks",
        "installDisk /dev/sdc (line ",
    ),
    (
        "installDisk beside rootDeviceHints",
        edits(
            put((*N1, "installDisk"), "/dev/sdb"),
            put((*N1, "rootDeviceHints"), {"serialNumber": SERIAL}),
        ),
        P1,
        "set either 'installDisk' or 'rootDeviceHints', not both",
    ),
]


@pytest.mark.parametrize(
    ("edit", "path", "message"), [c[1:] for c in DISK_CASES], ids=[c[0] for c in DISK_CASES]
)
def test_a_disk_the_file_says_cannot_be_installed_to(edit: Edit, path: str, message: str) -> None:
    assert_one_error(edit, path, message)


@pytest.mark.parametrize(
    "edit",
    [
        # the FCOS node: hints and no device name — resolved on the machine
        edits(
            os_of(N1, name="fcos", version="41.20241109.3.0"),
            put((*N1, "rootDeviceHints"), {"serialNumber": SERIAL}),
        ),
        # the Flatcar node: the serial picks the 960 GB disk, second in the list
        edits(put(HINTS, {"serialNumber": SERIAL}), put((*N1, "disks"), [MODULE, DATA])),
        # a model the list does not give for one disk: the machine decides
        edits(
            put(HINTS, {"model": "samsung", "minSizeGigabytes": 400}),
            put((*N1, "disks"), [MODULE, {"name": "/dev/nvme0n1", "sizeGigabytes": 3840}, DATA]),
        ),
        edits(
            put((*N1, "installDisk"), "/dev/disk/by-id/wwn-0x5002538e40a1b2c3"),
            put((*N1, "disks"), [MODULE]),
        ),
        edits(os_of(N1, name="rhcos", version="4.16.3"), put((*N1, "disks"), [DATA])),  # disks[0]
    ],
    ids=["fcos-hints", "flatcar-serial", "maybe", "by-id-link", "rhcos-first-disk"],
)
def test_a_disk_the_file_leaves_to_the_machine_validates(edit: Edit) -> None:
    assert errors(edit) == []


def test_inherited_hints_are_reported_once_per_node_entry() -> None:
    """Hints written once in defaults, a generator of 50 nodes listing a disk none matches:
    one finding, at the entry's disks."""

    def generated(doc: dict[str, Any]) -> None:
        doc["defaults"]["rootDeviceHints"] = {"serialNumber": SERIAL}
        node = at(doc, N1)
        node.update(
            name="w{index}",
            generate={"count": 50},
            bmc={"address": "redfish://{ip:10.0.0.100}/redfish/v1/Systems/1"},
            nics=[{"mac": "{mac:52:54:00:00:01:00}", "network": "prov", "ip": "dhcp"}],
            disks=[MODULE],
        )
        node.pop("role", None)

    found = errors(generated)
    assert [where for where, _ in found] == [f"{P1}.disks"], found
    assert at(BASE, N0)["name"] == "n0"
