"""`strata export metal3` and `strata import metal3` as a person runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from strata.cli.app import cli
from tests.unit.metal3.conftest import EXAMPLES, IMAGE_BASE, PASSWORD, mirror, readable_example

LAB = next(e for e in EXAMPLES if e.parent.name == "lab")
MIDSIZE = next(e for e in EXAMPLES if e.parent.name == "midsize")


def test_an_unreadable_credential_prints_nothing_and_names_node_and_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readable_example(MIDSIZE, tmp_path, monkeypatch)
    monkeypatch.delenv("STRATA_BMC_PASSWORD")
    result = CliRunner().invoke(
        cli, ["export", "metal3", "-f", str(tmp_path / "midsize" / "topology.yaml")]
    )
    assert result.exit_code != 0
    assert result.stdout == ""
    assert (
        "credentials dc-bmc: environment variable STRATA_BMC_PASSWORD is not set" in result.stderr
    )
    assert "node " in result.stderr
    assert PASSWORD not in result.output  # the file's password (ipmi) was read, never shown


def test_export_yaml_and_json_agree_and_carry_the_password_only_in_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = readable_example(LAB, tmp_path, monkeypatch)
    mirror(topology, tmp_path / "lab" / "artifacts")  # the default --artifacts
    file = str(tmp_path / "lab" / "topology.yaml")
    runner = CliRunner()
    given = ["export", "metal3", "-f", file, "-n", "dc", "--image-base", IMAGE_BASE]
    as_yaml = runner.invoke(cli, given)
    as_json = runner.invoke(cli, [*given, "-o", "json"])
    assert as_yaml.exit_code == as_json.exit_code == 0, as_yaml.output
    documents = list(yaml.safe_load_all(as_yaml.stdout))
    assert json.loads(as_json.stdout)["items"] == documents
    assert PASSWORD not in as_yaml.stdout  # base64 in data, never in clear
    assert all(d["metadata"]["namespace"] == "dc" for d in documents)
    # only the notes, on stderr: the example's fallback BMC, which Metal3 cannot carry
    assert as_yaml.stderr.splitlines() == [
        "note: lab-cp-0: bmc.fallback (ipmi://192.168.100.11:623) left out: a BareMetalHost "
        "has one BMC address, its first"
    ]


def test_layer_and_no_cluster_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    topology = readable_example(MIDSIZE, tmp_path, monkeypatch)
    mirror(topology, tmp_path / "midsize" / "artifacts")
    file = str(tmp_path / "midsize" / "topology.yaml")
    runner = CliRunner()
    hosts_only = runner.invoke(cli, ["export", "metal3", "-f", file, "--no-cluster-api"])
    kinds = {d["kind"] for d in yaml.safe_load_all(hosts_only.stdout)}
    assert kinds == {"Secret", "BareMetalHost"}
    without = runner.invoke(cli, ["export", "metal3", "-f", file, "--layer", "mgmt"])
    assert without.exit_code != 0 and without.stdout == ""
    assert "--image-base" in without.stderr and "--no-cluster-api" in without.stderr
    base = ["--image-base", IMAGE_BASE]
    one = runner.invoke(cli, ["export", "metal3", "-f", file, "--layer", "mgmt", *base])
    documents = list(yaml.safe_load_all(one.stdout))
    assert {
        d["metadata"]["labels"]["strata.dev/layer"]
        for d in documents
        if d["kind"] == "BareMetalHost"
    } == {"mgmt"}
    assert [d["metadata"]["name"] for d in documents if d["kind"] == "Cluster"] == ["mgmt"]
    missing = runner.invoke(cli, ["export", "metal3", "-f", file, "--layer", "nope"])
    assert missing.exit_code != 0 and "no layer named 'nope'" in missing.stderr
    k3s = runner.invoke(cli, ["export", "metal3", "-f", file, "--layer", "batch", *base])
    assert k3s.exit_code != 0 and "k3s layer" in k3s.stderr and k3s.stdout == ""


def test_image_from_the_artifact_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readable_example(LAB, tmp_path, monkeypatch)
    release = tmp_path / "mirror" / "flatcar" / "4081.2.0"
    release.mkdir(parents=True)
    digest = "ab" * 64
    (release / "flatcar_production_image.bin.bz2.DIGESTS").write_text(
        f"# SHA512 HASH\n{digest}  flatcar_production_image.bin.bz2\n"
    )
    file = str(tmp_path / "lab" / "topology.yaml")
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "metal3",
            "-f",
            file,
            "--image-base",
            "http://img:8080/os/",
            "--artifacts",
            str(tmp_path / "mirror"),
        ],
    )
    assert result.exit_code == 0, result.output
    templates = [
        d for d in yaml.safe_load_all(result.stdout) if d["kind"] == "Metal3MachineTemplate"
    ]
    assert {str(t["spec"]["template"]["spec"]["image"]) for t in templates} == {
        str(
            {
                "url": "http://img:8080/os/flatcar/4081.2.0/flatcar_production_image.bin.bz2",
                "checksum": digest,
                "checksumType": "sha512",
            }
        )
    }


def test_import_writes_a_file_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readable_example(LAB, tmp_path, monkeypatch)
    runner = CliRunner()
    exported = runner.invoke(
        cli,
        ["export", "metal3", "-f", str(tmp_path / "lab" / "topology.yaml"), "--no-cluster-api"],
    )
    source = tmp_path / "export.yaml"
    source.write_text(exported.stdout)
    out = tmp_path / "again" / "topology.yaml"
    out.parent.mkdir()
    result = runner.invoke(cli, ["import", "metal3", str(source), "-o", str(out), "--name", "lab"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and "3 host(s)" in result.stderr
    assert PASSWORD not in out.read_text()
    assert oct(os.stat(out).st_mode & 0o777) in ("0o600", "0o644")
    assert runner.invoke(cli, ["validate", "-f", str(out)]).exit_code == 0
