"""FILE's part of a move from a state file (strata.pivot.from_file), no API server:
the Topology object made from FILE with its env/file credentials referring to the
Secrets <topology>-bmc-<credential>; the Secrets made only with --copy-credentials;
an unreadable credential or no consent a block naming it; no value in any text."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from strata.pivot.from_file import Handover, InstallOptions, handover

ROOT = Path(__file__).resolve().parents[3]
ENV = "STRATA_LAB_BMC_PASSWORD"
PASSWORD = "from-file-s3cret"
REF = {"secret": {"name": "lab-bmc-lab-bmc", "key": "password"}}


def _file(tmp_path: Path, password_file: bool = False) -> Path:
    file = tmp_path / "topology.yaml"
    shutil.copy(ROOT / "examples/lab/topology.yaml", file)
    if password_file:
        file.write_text(file.read_text().replace(f"{{env: {ENV}}}", "{file: bmc-password}"))
    return file


def _said(handed: Handover) -> str:
    return "\n".join(text for _, text in handed.findings) + repr(handed)


def _blocks(handed: Handover) -> list[str]:
    return [text for level, text in handed.findings if level == "block"]


def test_copy_makes_the_secret_and_refers_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    handed = handover(InstallOptions(_file(tmp_path), "copy"), "ns", "lab")
    assert _blocks(handed) == []
    secret, topology = handed.objects
    assert secret["kind"] == "Secret" and secret["metadata"]["namespace"] == "ns"
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    assert topology["kind"] == "Topology" and topology["metadata"] == {
        "name": "lab",
        "namespace": "ns",
    }
    assert topology["spec"]["credentials"][0]["password"] == REF
    assert PASSWORD not in _said(handed)
    assert any("becomes Secret ns/lab-bmc-lab-bmc" in t for _, t in handed.findings)


def test_a_password_file_is_read_from_beside_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    file = _file(tmp_path, password_file=True)
    (tmp_path / "bmc-password").write_text(PASSWORD + "\n")
    (tmp_path / "bmc-password").chmod(0o600)
    handed = handover(InstallOptions(file, "copy"), "ns", "lab")
    assert _blocks(handed) == []
    assert base64.b64decode(handed.objects[0]["data"]["password"]).decode() == PASSWORD
    assert handed.objects[1]["spec"]["credentials"][0]["password"] == REF


@pytest.mark.parametrize("missing", ["env", "file"])
def test_an_unreadable_credential_blocks_naming_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    file = _file(tmp_path, password_file=missing == "file")
    handed = handover(InstallOptions(file, "copy"), "ns", "lab")
    looked = f"environment variable {ENV}" if missing == "env" else "file bmc-password"
    assert any("credentials lab-bmc" in t and looked in t for t in _blocks(handed)), _said(handed)
    assert [o["kind"] for o in handed.objects] == ["Topology"]


def test_without_consent_it_blocks_and_leave_makes_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    asked = handover(InstallOptions(_file(tmp_path), ""), "ns", "lab")
    (block,) = _blocks(asked)
    assert "--copy-credentials" in block and "--leave-credentials" in block
    assert "lab-bmc (environment variable STRATA_LAB_BMC_PASSWORD)" in block
    left = handover(InstallOptions(_file(tmp_path), "leave"), "ns", "lab")
    assert _blocks(left) == [] and [o["kind"] for o in left.objects] == ["Topology"]
    assert left.objects[0]["spec"]["credentials"][0]["password"] == REF
    assert PASSWORD not in _said(asked) + _said(left)


def test_file_of_another_topology_is_refused(tmp_path: Path) -> None:
    handed = handover(InstallOptions(_file(tmp_path), "leave"), "ns", "other")
    assert handed.objects == [] and "not 'other'" in _blocks(handed)[0]
