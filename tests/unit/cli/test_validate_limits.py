"""`strata validate` on hostile input: a located answer, never a hang or a flood."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from strata.cli.render import SHOWN_FINDINGS
from strata.topology.named_files import ALLOWED_DIRS_ENV
from tests.unit.topology.named import write_topology
from tests.unit.topology.test_limits import HEAD, rack


@pytest.fixture(autouse=True)
def _no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_dev_zero_and_a_fifo_are_no_topology(tmp_path: Path) -> None:
    code, out = run("validate", "-f", "/dev/zero")
    assert code == 1 and "is a character device, not a regular file" in out
    os.mkfifo(tmp_path / "topology.yaml")
    code, out = run("validate", "-f", str(tmp_path / "topology.yaml"))
    assert code == 1 and "is a FIFO, not a regular file" in out


def test_the_generator_bomb_is_one_located_error(tmp_path: Path) -> None:
    (tmp_path / "topology.yaml").write_text(HEAD + rack(100_000, 100_000))
    code, out = run("validate", "-f", str(tmp_path / "topology.yaml"))
    assert code == 1
    assert "topology.yaml:29:35: error: regions[0].zones[0].racks[0].nodes[1].generate.count" in out
    assert "1 error(s), 0 warning(s)" in out


def test_etc_shadow_as_a_password_file(tmp_path: Path) -> None:
    topology = write_topology(tmp_path, password_file="/etc/shadow")
    code, out = run("validate", "-o", "json", "-f", str(topology))
    assert code == 1
    (error,) = json.loads(out)["errors"]
    assert (error["path"], error["line"]) == ("credentials[0].password.file", 10)
    assert "is outside the topology's directory" in error["message"]


def test_fragments_are_checked_as_ignition(tmp_path: Path) -> None:
    (tmp_path / "extra.ign").write_text('{"storage": {"files": [{"path": "relative"}]}}')
    code, out = run("validate", "-f", str(write_topology(tmp_path, fragment_file="extra.ign")))
    assert code == 1
    assert (
        "Ignition fragment extra.ign: storage.files[0].path: path 'relative' is not absolute" in out
    )


def test_many_findings_are_cut_with_a_count(tmp_path: Path) -> None:
    nodes = "".join(
        f"              - {{name: n{i}, bmc: {{address: 10.0.0.{i % 250 + 1}}}, bootMAC: 'x{i}'}}\n"
        for i in range(SHOWN_FINDINGS + 50)
    )
    (tmp_path / "topology.yaml").write_text(
        HEAD + "          - name: r\n            nodes:\n" + nodes
    )
    code, out = run("validate", "-f", str(tmp_path / "topology.yaml"))
    assert code == 1
    assert out.count(": error: ") == SHOWN_FINDINGS
    assert "… and " in out and "more (strata validate -o json lists the first 1,000)" in out
    code, out = run("validate", "-o", "json", "-f", str(tmp_path / "topology.yaml"))
    report = json.loads(out)
    assert len(report["errors"]) > SHOWN_FINDINGS and report["omitted"] == 0


def test_plan_refuses_a_node_with_too_many_labels_before_building_anything(
    tmp_path: Path,
) -> None:
    """The review's file: 8,000 default labels on generated nodes. Plan used to build a
    node plan of 8,000 labels for each server (a MemoryError under 3 GB at 20,000)."""
    labels = "".join(f"    k{i}: v{i}\n" for i in range(8_000))
    text = (HEAD + rack(None, 2_000)).replace(
        "  layer: mgmt\n", "  layer: mgmt\n  labels:\n" + labels
    )
    (tmp_path / "topology.yaml").write_text(text)
    code, out = run("plan", "-o", "json", "-f", str(tmp_path / "topology.yaml"))
    assert code == 1
    assert "topology.yaml:7:3: error: defaults.labels: a node here carries 8,000 labels" in out
    assert "invalid, no plan" in out and len(out) < 2_000
