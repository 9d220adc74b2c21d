"""A topology directory for the seed's tests: the lab example with a fourth node, the
seed's own machine, on both the BMC and the provisioning networks, an Ignition fragment
file and a BMC password read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
PASSWORD = "Seed-Bmc-Pw-7f3c91"  # the value a test looks for in every byte written
SEED_NODE = """              - name: lab-seed
                bmc: {address: redfish://192.168.100.14/redfish/v1/Systems/lab-seed}
                ignition: [{name: motd, file: fragments/motd.yaml}]
                nics:
                  - {name: eth0, mac: "52:54:00:10:00:04", network: provisioning, ip: 192.168.110.14}
                  - {name: eth1, mac: "52:54:00:10:00:14", network: bmc, ip: 192.168.100.4}
                disks:
                  - {name: /dev/vda, sizeGigabytes: 20}
"""
FRAGMENT = 'storage:\n  files:\n    - path: /etc/motd\n      contents: {source: "data:,hello"}\n'


def seed_topology(directory: Path) -> Path:
    """The lab topology plus node lab-seed, written into ``directory``."""
    text = LAB.read_text()
    assert text.endswith("sizeGigabytes: 20}\n")
    (directory / "fragments").mkdir()
    (directory / "fragments" / "motd.yaml").write_text(FRAGMENT)
    path = directory / "topology.yaml"
    path.write_text(text + SEED_NODE)
    return path


@pytest.fixture
def topology_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", PASSWORD)
    directory = tmp_path / "site"
    directory.mkdir()
    return seed_topology(directory)
