"""root-device.sh, the live system's disk finder, run by dash and by busybox sh against a
fake /sys, /dev and udev database — and held to the same verdicts as
``strata.topology.root_device``, the matcher validate and inspection use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strata.topology.root_device import DiskFacts, choose
from tests.unit.ignition.fake_disks import SHELLS, FakeDisk, Machine, have

GB = 10**9


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if not have(name):
        reason = f"{name} is missing (./dev test installs it: apt-get install {name})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return name


def boot_module() -> FakeDisk:
    """The issue's small boot module, first on the bus: what `flatcar-install -s` picks."""
    return FakeDisk(
        "sda",
        32 * GB,
        model="SATADOM-SL 3ME3",
        vendor="ATA",
        hctl="0:0:0:0",
        udev={
            "ID_MODEL": "SATADOM-SL_3ME3",
            "ID_SERIAL_SHORT": "B0C12345",
            "ID_WWN": "0x5000000000000001",
        },
        links=("by-id/wwn-0x5000000000000001", "by-id/ata-SATADOM-SL_3ME3_B0C12345"),
    )


def data_disk() -> FakeDisk:
    """The issue's hinted 960 GB disk, second; sysfs truncates an ATA model to 16 characters."""
    return FakeDisk(
        "sdb",
        960_197_124_096,
        model="SAMSUNG MZ7LH960",
        vendor="ATA",
        hctl="1:0:0:0",
        udev={
            "ID_MODEL": "SAMSUNG_MZ7LH960HAJR-00005",
            "ID_SERIAL_SHORT": "S45NNE0M123456",
            "ID_WWN": "0x5002538e40a1b2c3",
        },
        links=(
            "by-id/ata-SAMSUNG_MZ7LH960HAJR-00005_S45NNE0M123456",
            "by-id/wwn-0x5002538e40a1b2c3",
            "by-path/pci-0000:00:17.0-ata-2",
            "by-path/pci-0000:00:17.0-ata-2-part1",
        ),
    )


def machine(tmp_path: Path, *disks: FakeDisk) -> Machine:
    return Machine(tmp_path, list(disks or (boot_module(), data_disk()))).build()


def test_the_issues_serial_hint_picks_the_960_gb_disk_not_the_smallest(
    tmp_path: Path, shell: str
) -> None:
    done = machine(tmp_path).resolve("serialNumber=S45NNE0M123456\n", shell)
    assert (done.returncode, done.stdout) == (0, "/dev/disk/by-id/wwn-0x5002538e40a1b2c3\n")
    assert "sda: 32000000000 bytes" in done.stderr and "does not match serialNumber" in done.stderr


@pytest.mark.parametrize(
    ("hints", "found"),
    [
        ("model=samsung mz7lh960hajr\n", "sdb"),  # udev's whole model, any case
        ("model=SAMSUNG MZ7LH960\n", "sdb"),  # sysfs's truncated one
        ("vendor=ata\nminSizeGigabytes=900\n", "sdb"),
        ("minSizeGigabytes=960\n", "sdb"),  # 960.2 GB >= 960 x 10^9 bytes
        ("wwn=0x5002538E40A1B2C3\n", "sdb"),
        ("wwn=5002538e40a1b2c3\n", "sdb"),  # without 0x
        ("hctl=0:0:0:0\n", "sda"),
        ("deviceName=/dev/disk/by-path/pci-0000:00:17.0-ata-2\nrotational=false\n", "sdb"),
        ("deviceName=/dev/sda\n", "sda"),
        ("serialNumber= s45nne0m123456 \n", "sdb"),  # padding and case do not count
    ],
)
def test_each_hint(tmp_path: Path, shell: str, hints: str, found: str) -> None:
    done = machine(tmp_path).resolve(hints, shell)
    assert done.returncode == 0, done.stderr
    assert f"installing to {found} " in done.stderr


def test_min_size_is_at_least_that_many_decimal_gigabytes(tmp_path: Path, shell: str) -> None:
    exact = FakeDisk("sda", 400 * GB)
    below = FakeDisk("sdb", 400 * GB - 512)
    done = machine(tmp_path, exact, below).resolve("minSizeGigabytes=400\n", shell)
    assert done.returncode == 0 and "installing to sda " in done.stderr, done.stderr


def test_no_disk_matches_exit_2(tmp_path: Path, shell: str) -> None:
    done = machine(tmp_path).resolve("serialNumber=NOT-THERE\n", shell)
    assert (done.returncode, done.stdout) == (2, "")
    assert "no disk matches the hints: install refused" in done.stderr


def test_two_disks_match_exit_3(tmp_path: Path, shell: str) -> None:
    done = machine(tmp_path).resolve("rotational=false\n", shell)
    assert (done.returncode, done.stdout) == (3, "")
    assert "2 disks match the hints (sda sdb): install refused" in done.stderr


def test_a_disk_that_lacks_the_property_does_not_match(tmp_path: Path, shell: str) -> None:
    """As in Ironic: a disk with no serial at all is no match for a serial hint."""
    bare = FakeDisk("vda", 20 * GB, links=("by-path/virtio-pci-0000:00:05.0",))
    done = machine(tmp_path, bare).resolve("serialNumber=X\n", shell)
    assert done.returncode == 2
    assert machine(tmp_path / "b", bare).resolve("minSizeGigabytes=20\n", shell).stdout == (
        "/dev/disk/by-path/virtio-pci-0000:00:05.0\n"
    )


def test_what_is_no_install_target_is_never_a_candidate(tmp_path: Path, shell: str) -> None:
    others = [
        FakeDisk("loop0", 100 * GB, virtual=True),
        FakeDisk("dm-0", 100 * GB, virtual=True),
        FakeDisk("sr0", 100 * GB, model="DVD"),
        FakeDisk("sdc", 100 * GB, removable=True),
        FakeDisk("sdd", 100 * GB, read_only=True),
        FakeDisk("sde", 0),
    ]
    done = machine(tmp_path, data_disk(), *others).resolve("minSizeGigabytes=50\n", shell)
    assert done.returncode == 0, done.stderr
    assert "installing to sdb " in done.stderr
    assert "sdc: removable media" in done.stderr and "sdd: read-only" in done.stderr


def test_a_by_id_link_is_preferred_and_partitions_are_skipped(tmp_path: Path, shell: str) -> None:
    nvme = FakeDisk(
        "nvme0n1",
        3_840_755_982_336,
        model="SAMSUNG MZQL23T8HCLS-00A07",
        serial="S64HNE0R900001",
        wwid="eui.36344730529000010025384500000001",
        links=(
            "by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0R900001-part1",
            "by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0R900001",
            "by-id/nvme-eui.36344730529000010025384500000001",
            "by-path/pci-0000:3b:00.0-nvme-1",
        ),
    )
    done = machine(tmp_path, nvme).resolve("serialNumber=S64HNE0R900001\n", shell)
    assert done.stdout == "/dev/disk/by-id/nvme-eui.36344730529000010025384500000001\n"
    by_wwid = machine(tmp_path / "w", nvme).resolve(
        "wwn=eui.36344730529000010025384500000001\n", shell
    )
    assert by_wwid.returncode == 0, by_wwid.stderr


@pytest.mark.parametrize(
    "value",
    [
        "$(touch PWNED)",
        "`touch PWNED`",
        "*",
        "S45NNE0M123456; touch PWNED",
        "' \" \\ $HOME",
    ],
)
def test_a_hint_value_is_data_never_code_or_a_pattern(
    tmp_path: Path, shell: str, value: str
) -> None:
    done = machine(tmp_path).resolve(f"serialNumber={value}\nmodel={value}\n", shell)
    assert done.returncode == 2, done.stderr
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ("colour=red\n", "unknown hint 'colour'"),
        ("minSizeGigabytes=lots\n", "minSizeGigabytes is not a whole number"),
        ("rotational=yes\n", "rotational is not true or false"),
        ("\n", "no hints in"),
        ("model\n", "not NAME=VALUE"),
    ],
)
def test_a_bad_hints_file_is_exit_1(tmp_path: Path, shell: str, hints: str, message: str) -> None:
    done = machine(tmp_path).resolve(hints, shell)
    assert done.returncode == 1 and message in done.stderr


# --- the script and the Python matcher agree -----------------------------------

_MODELS = ["SAMSUNG MZ7LH960", "Micron_5300_MTFD", "INTEL SSDSC2KG96", "QEMU HARDDISK"]
_SERIALS = ["S45NNE0M123456", "21092E4F1A2B", "PHYG0123456", "QM00001"]
_SIZES = [32 * GB, 480 * GB, 960 * GB, 3840 * GB]

disks = st.lists(
    st.tuples(
        st.sampled_from(_MODELS), st.sampled_from(_SERIALS), st.sampled_from(_SIZES), st.booleans()
    ),
    min_size=1,
    max_size=4,
)
hint_sets = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["samsung", "MICRON", "ssdsc2", "qemu harddisk", "nvme"]),
        "serialNumber": st.sampled_from([*_SERIALS, "nope"]),
        "minSizeGigabytes": st.sampled_from([1, 400, 960, 1000]),
        "rotational": st.booleans(),
    },
).filter(bool)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(found=disks, hints=hint_sets)
def test_the_script_decides_as_the_python_matcher(
    tmp_path_factory: pytest.TempPathFactory,
    found: list[tuple[str, str, int, bool]],
    hints: dict[str, object],
) -> None:
    fakes = [
        FakeDisk(
            f"sd{chr(ord('a') + i)}",
            size,
            model=model,
            rotational=rot,
            udev={"ID_SERIAL_SHORT": serial, "ID_MODEL": model.replace(" ", "_")},
        )
        for i, (model, serial, size, rot) in enumerate(found)
    ]
    facts = [
        DiskFacts(
            f"/dev/{d.name}",
            f"/dev/{d.name}",
            d.size_bytes,
            d.model,
            None,
            d.udev["ID_SERIAL_SHORT"],
            None,
            d.rotational,
        )
        for d in fakes
    ]
    expected = choose(hints, facts)
    assert not expected.maybe  # every property is known on the machine
    lines = "".join(
        f"{k}={str(v).lower() if isinstance(v, bool) else v}\n" for k, v in hints.items()
    )
    done = Machine(tmp_path_factory.mktemp("m"), fakes).build().resolve(lines)
    want = {0: 2, 1: 0}.get(len(expected.sure), 3)
    assert done.returncode == want, done.stderr
    if want == 0:
        assert done.stdout == f"{expected.sure[0].name}\n"
