"""`strata kubeconfig LAYER`: the layer's endpoint and stored CA, a fresh short-lived admin
certificate; refused with exit 2 for an unknown layer, no state, or a layer never applied;
the state file only read. (kubectl against a real API server:
tests/integration/kube/test_kubeconfig_cli.py.)"""

from __future__ import annotations

import base64
import datetime
import hashlib
from pathlib import Path

import yaml
from click.testing import CliRunner
from cryptography import x509

from strata.cli.app import cli
from strata.kube.material_store import cluster_material
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples/lab/topology.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["kubeconfig", *args, "-f", str(LAB)])
    return result.exit_code, result.stdout, result.stderr


def applied_state(tmp_path: Path) -> tuple[Path, str]:
    """A state holding the lab's mgmt material, as apply leaves it; and the CA's hash."""
    path = tmp_path / "strata.db"
    mgmt = build_plan(load(LAB)).clusters[0]
    now = datetime.datetime.now(datetime.UTC)
    store = SQLiteStore(path)
    material = cluster_material(store, mgmt, now, all_joined=lambda: False)
    store.close()  # as apply leaves it: checkpointed
    return path, material.pki.ca.cert_pem


def fingerprint(state: Path) -> tuple[str, int]:
    """The database's hash and what its WAL holds (a WAL reader makes an empty -wal and
    an -shm index: SQLite's, sqlite.org/wal.html, not a write)."""
    wal = state.with_name(state.name + "-wal")
    return hashlib.sha256(state.read_bytes()).hexdigest(), wal.stat().st_size if wal.exists() else 0


def client_certificate(config: dict[str, object]) -> x509.Certificate:
    users = config["users"]
    assert isinstance(users, list)
    data = users[0]["user"]["client-certificate-data"]
    return x509.load_pem_x509_certificate(base64.b64decode(data))


def test_prints_the_layers_endpoint_its_ca_and_a_one_hour_admin(tmp_path: Path) -> None:
    state, ca_pem = applied_state(tmp_path)
    before = fingerprint(state)
    code, out, err = run("mgmt", "--state", str(state))
    assert code == 0, err
    config = yaml.safe_load(out)
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == "https://192.168.110.10:6443"  # the layer's VIP
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == ca_pem
    cert = client_certificate(config)
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(minutes=59) < left <= datetime.timedelta(hours=1)
    assert "valid until" in err
    assert fingerprint(state) == before  # only read


def test_ttl_sets_the_certificates_lifetime(tmp_path: Path) -> None:
    state, _ = applied_state(tmp_path)
    code, out, _ = run("mgmt", "--state", str(state), "--ttl", "10m")
    assert code == 0
    left = client_certificate(yaml.safe_load(out)).not_valid_after_utc - datetime.datetime.now(
        datetime.UTC
    )
    assert datetime.timedelta(minutes=9) < left <= datetime.timedelta(minutes=10)


def test_a_ttl_past_a_day_or_not_a_duration_is_refused(tmp_path: Path) -> None:
    state, _ = applied_state(tmp_path)
    for ttl in ("25h", "0s", "forever", "1d"):
        code, out, err = run("mgmt", "--state", str(state), "--ttl", ttl)
        assert code == 2 and out == "" and "--ttl" in err, ttl


def test_an_unknown_layer_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    state, _ = applied_state(tmp_path)
    code, out, err = run("mgnt", "--state", str(state))
    assert (code, out) == (2, "")
    assert "no layer 'mgnt' in topology" in err and "(its layers: mgmt)" in err
    assert "did you mean 'mgmt'?" in err


def test_no_state_is_refused_saying_to_apply_first(tmp_path: Path) -> None:
    code, out, err = run("mgmt", "--state", str(tmp_path / "none.db"))
    assert (code, out) == (2, "")
    assert "nothing was applied yet" in err and "strata apply" in err
    assert not (tmp_path / "none.db").exists()


def test_a_layer_the_state_keeps_nothing_for_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "strata.db").close()
    code, out, err = run("mgmt", "--state", str(tmp_path / "strata.db"))
    assert (code, out) == (2, "")
    assert "keeps no cluster for layer mgmt" in err and "strata apply" in err
