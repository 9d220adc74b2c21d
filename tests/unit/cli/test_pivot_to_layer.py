"""`strata pivot --to LAYER`: the target is the layer's own cluster, reached with a
kubeconfig minted from the layer's PKI in the state and written beside it (0600).
Refused, with nothing written on either end, for a layer not in the topology, not
joined, or with no PKI kept; exclusive with --to-kubeconfig; the layer marked
``pivot: true`` when neither is given. (Against a real API server:
tests/integration/pivot/test_to_layer.py.)"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509

from strata.cli.app import cli
from strata.cli.pivot_layer import LIFETIME, layer_kubeconfig_path
from strata.store import SQLiteStore
from tests.support.layer_state import lab_file, layer_state


@pytest.fixture
def file(tmp_path: Path) -> Path:
    return lab_file(tmp_path, {"vip": "127.0.0.9", "network": "bmc", "port": 1})


def state_of(file: Path) -> Path:
    return file.parent / ".strata" / "strata.db"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def untouched(file: Path) -> dict[str, Any]:
    """What a move would change in the state file: its lease and journal note, and
    whether a layer kubeconfig was written."""
    store = SQLiteStore(state_of(file))
    try:
        return {
            "writer": store.writer(),
            "note": store.note("pivot"),
            "kubeconfigs": sorted(p.name for p in state_of(file).parent.glob("*.kubeconfig")),
        }
    finally:
        store.close()


def test_a_layer_not_in_the_topology_is_refused_naming_it(file: Path) -> None:
    layer_state(state_of(file), file, "joined")
    code, out = run("pivot", "-f", str(file), "--to", "mgnt")
    assert code == 2
    assert "no layer 'mgnt' in topology lab (its layers: mgmt)" in out
    assert "did you mean 'mgmt'?" in out
    assert untouched(file) == {"writer": None, "note": None, "kubeconfigs": []}


def test_a_layer_not_joined_is_refused_naming_its_nodes(file: Path) -> None:
    layer_state(state_of(file), file, {"lab-cp-0": "joined", "lab-worker-0": "provisioned"})
    code, out = run("pivot", "-f", str(file), "--to", "mgmt")
    assert code == 2
    assert "layer mgmt is not joined: lab-worker-0 (provisioned), lab-worker-1 (no record)" in out
    assert untouched(file) == {"writer": None, "note": None, "kubeconfigs": []}


def test_a_layer_without_pki_in_the_state_is_refused(file: Path) -> None:
    layer_state(state_of(file), file, "joined", layer=None)
    code, out = run("pivot", "-f", str(file), "--to", "mgmt")
    assert code == 2
    assert "the state keeps no cluster PKI for layer mgmt" in out
    assert untouched(file) == {"writer": None, "note": None, "kubeconfigs": []}


def test_to_layer_and_to_kubeconfig_are_exclusive(file: Path) -> None:
    layer_state(state_of(file), file, "joined")
    code, out = run("pivot", "-f", str(file), "--to", "mgmt", "--to-kubeconfig", str(file))
    assert code == 2
    assert "--to LAYER and --to-kubeconfig are exclusive" in out
    assert untouched(file) == {"writer": None, "note": None, "kubeconfigs": []}


def test_the_layer_marked_pivot_is_the_default_target(file: Path) -> None:
    layer_state(state_of(file), file, "provisioned")
    code, out = run("pivot", "-f", str(file))
    assert code == 2
    assert "layer mgmt is not joined" in out


def test_with_no_layer_marked_pivot_say_where_to(tmp_path: Path) -> None:
    file = lab_file(tmp_path, {"vip": "127.0.0.9", "network": "bmc", "port": 1}, pivot=False)
    layer_state(state_of(file), file, "joined")
    code, out = run("pivot", "-f", str(file))
    assert code == 2
    assert "say where to: --to LAYER or --to-kubeconfig FILE" in out


def test_the_layer_kubeconfig_is_minted_from_its_ca_and_kept_private(file: Path) -> None:
    """Nothing listens at the layer's endpoint: preflight blocks (nothing moved), but
    the kubeconfig was made from the layer's CA for its endpoint, mode 0600, valid
    ``LIFETIME``, and its key was not printed."""
    material = layer_state(state_of(file), file, "joined")
    assert material is not None
    code, out = run("pivot", "-f", str(file), "--to", "mgmt")
    assert code == 1, out
    assert "preflight block" in out and "https://127.0.0.9:1" in out
    path = layer_kubeconfig_path(state_of(file).parent, "mgmt")
    assert path.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" not in out and "client-key-data" not in out
    config = yaml.safe_load(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.9:1"
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    assert ca.decode() == material.pki.ca.cert_pem
    cert = x509.load_pem_x509_certificate(
        base64.b64decode(config["users"][0]["user"]["client-certificate-data"])
    )
    assert cert.issuer == x509.load_pem_x509_certificate(ca).subject
    valid = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert LIFETIME - datetime.timedelta(hours=1) < valid <= LIFETIME
    store = SQLiteStore(state_of(file))
    try:
        assert store.writer() is None  # refused in preflight: the state still in charge
    finally:
        store.close()


def test_the_plan_says_the_management_plane_moves_into_the_pivot_layer(file: Path) -> None:
    code, out = run("plan", "-f", str(file), "--state", str(file.parent / "none.db"))
    assert code == 0
    line = "pivot: after layer mgmt is joined, the management plane moves into its cluster"
    assert f"{line} (namespace strata)" in out


def test_no_plan_line_without_a_layer_marked_pivot(tmp_path: Path) -> None:
    file = lab_file(tmp_path, {"vip": "127.0.0.9", "network": "bmc", "port": 1}, pivot=False)
    code, out = run("plan", "-f", str(file), "--state", str(tmp_path / "none.db"))
    assert code == 0 and "pivot:" not in out


def test_the_plan_line_says_when_the_run_does_not_pivot(file: Path) -> None:
    from strata.cli.render import pivot_line
    from strata.plan import build_plan
    from strata.topology import load

    plan = build_plan(load(file))
    assert pivot_line(plan, joined=False) == (
        "pivot: not at the end of this run (--until provisioned: layer mgmt is not joined)"
    )
    assert pivot_line(plan, skipped=True) == (
        "pivot: not at the end of this run (--no-pivot); later: strata pivot --to mgmt"
    )


def test_a_host_controller_takes_the_runs_own_boot_flags(tmp_path: Path) -> None:
    from strata.cli.apply_pivot import AfterApply, run_flags

    flags = run_flags(
        "192.168.110.1:8080", None, "prov0", False, tmp_path, "joined", ("booting=900",)
    )
    assert flags == (
        "--listen",
        "192.168.110.1:8080",
        "--artifacts",
        str(tmp_path.resolve()),
        "--until",
        "joined",
        "--dhcp-interface",
        "prov0",
        "--timeout",
        "booting=900",
    )
    assert AfterApply.of("host", True, False, flags).consent == "copy"
    assert AfterApply.of("auto", False, False, ()).consent == ""


def test_apply_takes_one_word_on_credentials(file: Path) -> None:
    code, out = run("apply", "-f", str(file), "--copy-credentials", "--leave-credentials")
    assert code == 2 and "--copy-credentials and --leave-credentials: give one" in out
    assert not state_of(file).exists()  # refused before the state was opened
