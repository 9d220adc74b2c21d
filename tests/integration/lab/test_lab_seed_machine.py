"""The seed's own machine in the lab (`strata lab up --seed IMAGE`): a second NIC on a
bridge of the BMC network, from which the BMC addresses answer; the seed image in its
drive, booted unless the BMC is told otherwise, and taken out at its first network boot
(the cluster's controller reinstalling it, docs/seed.md); the image's node found in its
seed.json (the ISO written here with pycdlib, as `strata seed build` writes one).
Each power-on starts a real QEMU process, with user networking (no root needed)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest
import yaml

from strata.bmc import BootDevice, PowerAction
from strata.lab.daemon import LabSeedError, machines, seed_node
from strata.lab.machines import LabMachine
from strata.lab.network import lab_network
from strata.lab.redfish import LabBMC
from strata.seed.medium import SeedMediumError
from strata.seed.payload import Manifest, SecretsInfo
from strata.topology import Topology, load
from tests.integration.bmc.conftest import FAST, driver
from tests.support.boot_server import RunningServer, free_port
from tests.unit.seed.conftest import LAB, seed_topology


@pytest.fixture
def topology(tmp_path: Path) -> Topology:
    site = tmp_path / "site"
    site.mkdir()
    return load(seed_topology(site))


def test_only_a_node_with_a_nic_on_the_bmc_network_gets_a_tap_on_its_bridge(
    topology: Topology,
) -> None:
    network = lab_network(topology)
    assert network.taps["lab-seed"] == "tap3"
    assert network.bmc_taps == {"lab-seed": "btap3"}
    assert network.bmc_address == "192.168.100.1/24"  # no gateway: the first address free
    plain = lab_network(load(LAB))
    assert (plain.bmc_taps, plain.bmc_address) == ({}, None)  # no bmc0 made


def test_the_bmc_bridge_takes_no_address_the_topology_gives_or_may_give(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    document = yaml.safe_load(seed_topology(site).read_text())
    bmc = document["networks"][0]
    assert bmc["name"] == "bmc"
    bmc["dhcpRange"] = {"start": "192.168.100.1", "end": "192.168.100.2"}
    rack = document["regions"][0]["zones"][0]["racks"][0]
    rack["switches"] = [{"name": "tor", "managementAddress": "192.168.100.3", "ports": 8}]
    path = site / "topology.yaml"
    path.write_text(yaml.safe_dump(document))
    assert lab_network(load(path)).bmc_address == "192.168.100.5/24"  # .4: lab-seed's NIC
    bmc["gateway"] = "192.168.100.254"
    path.write_text(yaml.safe_dump(document))
    assert lab_network(load(path)).bmc_address == "192.168.100.254/24"


def test_the_seed_machine_boots_its_medium_with_both_nics(
    topology: Topology, tmp_path: Path
) -> None:
    fleet = machines(topology, tmp_path)
    seed = fleet["lab-seed"]
    assert seed.more_nics == (("52:54:00:10:00:14", "btap3"),)
    assert all(m.more_nics == () and m.medium is None for n, m in fleet.items() if n != "lab-seed")
    seed.medium = tmp_path / "seed.iso"
    args = " ".join(seed.command("d"))
    assert "ifname=tap3" in args and "mac=52:54:00:10:00:01" not in args
    assert (
        "-netdev tap,id=n1,ifname=btap3" in args and "e1000,netdev=n1,mac=52:54:00:10:00:14" in args
    )
    assert f"file={tmp_path / 'seed.iso'},media=cdrom" in args and args.endswith("order=d")


@pytest.fixture
def seed_bmc(tmp_path: Path) -> Iterator[tuple[str, LabMachine]]:
    medium = tmp_path / "seed.iso"
    medium.write_bytes(b"\0" * 2048 * 16)  # QEMU reads it only once the guest does
    machine = LabMachine("s1", "52:54:00:12:34:57", tmp_path, bootfile="http://10.0.2.2:9/x")
    machine.medium = medium
    service = LabBMC({"s1": machine}, "admin", "lab-pw")
    server = RunningServer(service.app, free_port())
    yield f"redfish+http://127.0.0.1:{server.port}/redfish/v1/Systems/s1", machine
    machine.power_off()
    server.stop()


def _booted_from(machine: LabMachine) -> tuple[str, bool]:
    assert machine.process is not None
    args = [str(a) for a in machine.process.args]  # type: ignore[union-attr]
    order = next(a for a in args if a.startswith("order="))
    return order, any("media=cdrom" in a for a in args)


def test_the_medium_boots_until_a_network_boot_takes_it_out(
    seed_bmc: tuple[str, LabMachine],
) -> None:
    address, machine = seed_bmc
    bmc = driver(address, "lab-pw", username="admin", settings=FAST)
    bmc.power(PowerAction.ON)
    assert _booted_from(machine) == ("order=d", True)  # as the person set its boot order
    bmc.power(PowerAction.OFF)
    bmc.set_boot_device(BootDevice.PXE, persistent=False)
    bmc.power(PowerAction.ON)
    assert _booted_from(machine) == ("order=n", False)
    assert machine.medium is None
    bmc.power(PowerAction.OFF)
    bmc.power(PowerAction.ON)  # installed: its disk from now on
    assert _booted_from(machine) == ("order=c", False)


def _seed_iso(path: Path, manifest: Manifest | None) -> Path:
    """An ISO 9660 image holding /strata/seed.json (or only /strata/README.txt)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09")
    iso.add_directory("/STRATA", rr_name="strata")
    name, body = ("seed.json", manifest.to_json()) if manifest else ("README.txt", b"hi\n")
    iso.add_fp(io.BytesIO(body), len(body), f"/STRATA/{name.upper()};1", rr_name=name)
    iso.write(str(path))
    iso.close()
    return path


def _manifest(topology: str, node: str | None) -> Manifest:
    return Manifest(topology, "0" * 64, 1, node, (), SecretsInfo(sealed=False, file=None))


def test_the_seed_node_is_the_one_its_image_was_built_for(
    topology: Topology, tmp_path: Path
) -> None:
    assert (
        seed_node(_seed_iso(tmp_path / "a.iso", _manifest("lab", "lab-seed")), topology)
        == "lab-seed"
    )
    cases = {
        "other.iso": (_manifest("dc1", "lab-seed"), "is a seed of topology dc1, not lab"),
        "none.iso": (_manifest("lab", None), "build it with --node NAME"),
        "gone.iso": (_manifest("lab", "lab-gone"), "names no node of lab"),
        "bare.iso": (None, "seed.json cannot be read"),
    }
    for name, (manifest, said) in cases.items():
        with pytest.raises(LabSeedError, match=said):
            seed_node(_seed_iso(tmp_path / name, manifest), topology)
    (tmp_path / "text.iso").write_text("not an image")
    with pytest.raises(SeedMediumError, match="not an ISO 9660 image"):
        seed_node(tmp_path / "text.iso", topology)


def test_the_bmc_reports_every_nic_of_its_machine(tmp_path: Path) -> None:
    """Inspection compares the topology's NICs with the BMC's: the seed's second NIC too."""
    machine = LabMachine("s2", "52:54:00:12:34:59", tmp_path, bootfile="http://10.0.2.2:9/x")
    machine.more_nics = (("52:54:00:12:34:60", "btap9"),)
    server = RunningServer(LabBMC({"s2": machine}, "admin", "lab-pw").app, free_port())
    try:
        address = f"redfish+http://127.0.0.1:{server.port}/redfish/v1/Systems/s2"
        inventory = driver(address, "lab-pw", username="admin", settings=FAST).inventory()
    finally:
        server.stop()
    assert [n.mac for n in inventory.nics] == ["52:54:00:12:34:59", "52:54:00:12:34:60"]
