"""The boot service reads fragments through the validate-time reader and checks them as Ignition."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from strata.boot import fragments
from strata.boot.fragments import FragmentError, load_fragments
from strata.ignition import Config
from strata.ignition.fragment import Problem
from strata.topology import load
from strata.topology.named_files import ALLOWED_DIRS_ENV
from tests.unit.topology.named import write_topology


@pytest.fixture(autouse=True)
def _no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)


def test_a_valid_fragment_is_loaded_for_its_nodes(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text(
        "storage: {files: [{path: /etc/motd, contents: {source: 'data:,hi'}}]}\n"
    )
    topology = load(write_topology(tmp_path / "dc", fragment_file="extra.yaml"))
    fragments = load_fragments(topology, tmp_path / "dc")
    assert fragments == {
        "lab-cp-0": (
            {"storage": {"files": [{"path": "/etc/motd", "contents": {"source": "data:,hi"}}]}},
        )
    }


def test_a_fragment_changed_into_invalid_ignition_after_validate_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text("storage: {files: [{path: /etc/motd}]}\n")
    topology = load(write_topology(tmp_path / "dc", fragment_file="extra.yaml"))
    (tmp_path / "dc" / "extra.yaml").write_text(
        "storage: {files: [{path: /etc/motd, mode: secret-ish}]}\n"
    )
    with pytest.raises(FragmentError) as caught:
        load_fragments(topology, tmp_path / "dc")
    message = str(caught.value)
    assert "Ignition fragment extra of node lab-cp-0 (flatcar 4081.2.0)" in message
    assert "storage.files[0].mode: must be integer" in message
    assert "secret-ish" not in message


def test_a_fragment_newer_than_the_nodes_release_reads_is_refused(tmp_path: Path) -> None:
    """Flatcar 4081.2.0 ships Ignition 2.19: spec 3.4.0 at most (strata.topology.os_releases)."""
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text("ignition: {version: 3.4.0}\n")
    topology = load(write_topology(tmp_path / "dc", fragment_file="extra.yaml"))
    assert load_fragments(topology, tmp_path / "dc")["lab-cp-0"] == (
        {"ignition": {"version": "3.4.0"}},
    )
    (tmp_path / "dc" / "extra.yaml").write_text("ignition: {version: 3.5.0}\n")
    with pytest.raises(FragmentError) as caught:
        load_fragments(topology, tmp_path / "dc")
    assert (
        "ignition.version: this fragment is Ignition spec 3.5.0; flatcar 4081.2.0 reads up to "
        "3.4.0 (write it for 3.4.0, or use Flatcar 4152.0.0 or later)"
    ) in str(caught.value)


def test_an_inline_fragment_is_checked_too(tmp_path: Path) -> None:
    inline = "        systemd: {units: [{name: no-unit-type}]}\n"
    topology = load(write_topology(tmp_path / "dc", inline_fragment=inline))
    with pytest.raises(FragmentError, match="'no-unit-type' is not a unit name"):
        load_fragments(topology, tmp_path / "dc")


def test_a_fragment_swapped_for_a_link_or_a_fifo_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text("{}\n")
    topology = load(write_topology(tmp_path / "dc", fragment_file="extra.yaml"))
    (tmp_path / "dc" / "extra.yaml").unlink()
    (tmp_path / "dc" / "extra.yaml").symlink_to("/etc/passwd")
    with pytest.raises(FragmentError, match="outside the topology's directory"):
        load_fragments(topology, tmp_path / "dc")
    (tmp_path / "dc" / "extra.yaml").unlink()
    os.mkfifo(tmp_path / "dc" / "extra.yaml")
    with pytest.raises(FragmentError, match="is a FIFO"):
        load_fragments(topology, tmp_path / "dc")


def test_a_fragment_name_with_escape_sequences_is_shown_escaped(tmp_path: Path) -> None:
    """The name is free text from topology.yaml (YAML writes the escape as \\e)."""
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text("{}\n")
    topology_file = write_topology(tmp_path / "dc", fragment_file="extra.yaml")
    text = topology_file.read_text().replace("name: extra", 'name: "ex\\e[2Jtra\\nforged"')
    topology_file.write_text(text)
    topology = load(topology_file)
    (tmp_path / "dc" / "extra.yaml").unlink()
    with pytest.raises(FragmentError) as caught:
        load_fragments(topology, tmp_path / "dc")
    message = str(caught.value)
    assert "Ignition fragment ex\\x1b[2Jtra\\nforged: " in message
    assert "\x1b" not in message and "\n" not in message


def test_a_fragment_is_checked_once_per_os_and_spec_not_per_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flatcar 4081.2.0 and 4081.3.0 both read spec 3.4.0: one check serves both, as at
    validate (``file_rules.release_group``); a fleet of many releases costs a check per spec."""
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text("{}\n")
    topology_file = write_topology(tmp_path / "dc", fragment_file="extra.yaml")
    second = """\
              - name: lab-w-1
                layer: mgmt
                os: {version: "4081.3.0"}
                bmc: {address: redfish://192.168.100.12/redfish/v1/Systems/1}
                nics: [{mac: "52:54:00:10:00:02", network: provisioning, ip: 192.168.110.12}]
"""
    topology_file.write_text(topology_file.read_text() + second)
    topology = load(topology_file)
    checks: list[tuple[str, str | None]] = []
    real = fragments.fragment_problems

    def counting(config: Config, os_name: str, os_version: str | None = None) -> list[Problem]:
        checks.append((os_name, os_version))
        return list(real(config, os_name, os_version))

    monkeypatch.setattr(fragments, "fragment_problems", counting)
    loaded = load_fragments(topology, tmp_path / "dc")
    assert set(loaded) == {"lab-cp-0", "lab-w-1"}
    assert checks == [("flatcar", "4081.2.0")]
