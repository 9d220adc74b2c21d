"""`strata kubeconfig LAYER` against a real API server running on the layer's stored PKI:
kubectl with the printed kubeconfig lists namespaces as cluster-admin, the client
certificate expires within the TTL asked for, and the same command over another state
(another CA) is refused by TLS.

The kubeconfig's server is the layer's VIP (lab: https://192.168.110.10:6443), which
does not exist on this host: kubectl is pointed at the control plane on 127.0.0.1 with
``--server``, and still verifies the API server's certificate against the CA from the
kubeconfig (the fixture's serving certificate names 127.0.0.1 and is signed by the
stored CA). The topology keeps the lab's VIP rather than 127.0.0.1: validate wants a
VIP inside one of the topology's networks.
"""

from __future__ import annotations

import base64
import datetime
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from strata.kube.material_store import cluster_material
from strata.kube.pki import ClusterPKI
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.kube_api import ControlPlane, control_plane

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples/lab/topology.yaml"
VIP = "https://192.168.110.10:6443"


def applied_state(path: Path) -> Path:
    """A state holding the lab's mgmt material, as `strata apply` leaves it."""
    store = SQLiteStore(path)
    mgmt = build_plan(load(LAB)).clusters[0]
    cluster_material(store, mgmt, datetime.datetime.now(datetime.UTC), all_joined=lambda: False)
    store.close()
    return path


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return applied_state(tmp_path_factory.mktemp("state") / "strata.db")


@pytest.fixture(scope="module")
def plane(state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """The control plane on the PKI the state keeps for mgmt (named as the conftest's, so
    a failing test's report carries its logs)."""
    store = SQLiteStore(state, read_only=True)
    row = store.cluster("mgmt")
    store.close()
    assert row is not None
    with control_plane(tmp_path_factory.mktemp("kube"), ClusterPKI.from_json(row.pki)) as running:
        yield running


def strata_kubeconfig(state: Path, target: Path, *extra: str) -> Path:
    """Runs the command as a person does, in its own process; its stdout into ``target``."""
    args = [sys.executable, "-m", "strata.cli.app", "kubeconfig", "mgmt", "-f", str(LAB)]
    result = subprocess.run(
        [*args, "--state", str(state), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    target.write_text(result.stdout)
    target.chmod(0o600)
    return target


def kubectl(plane: ControlPlane, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("kubectl")
    if found is None:
        reason = "kubectl is missing: ./dev test installs it (apt-get install kubernetes-client)"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    assert found is not None
    command = [found, "--kubeconfig", str(kubeconfig), "--server", plane.url]
    command += ["--cache-dir", str(plane.path("kubectl-cache")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_kubectl_with_strata_kubeconfig_is_cluster_admin(
    plane: ControlPlane, state: Path, tmp_path: Path
) -> None:
    config = strata_kubeconfig(state, tmp_path / "mgmt.kubeconfig")
    assert yaml.safe_load(config.read_text())["clusters"][0]["cluster"]["server"] == VIP
    listed = kubectl(plane, config, "get", "namespaces", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    assert {"namespace/default", "namespace/kube-system"} <= set(listed.stdout.split())
    allowed = kubectl(plane, config, "auth", "can-i", "create", "nodes")
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes")  # system:masters


def test_the_client_certificate_expires_within_the_ttl(
    plane: ControlPlane, state: Path, tmp_path: Path
) -> None:
    asked = datetime.datetime.now(datetime.UTC)
    config = strata_kubeconfig(state, tmp_path / "short.kubeconfig", "--ttl", "15m")
    user = yaml.safe_load(config.read_text())["users"][0]["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    answered = datetime.datetime.now(datetime.UTC)
    ttl = datetime.timedelta(minutes=15)
    assert asked + ttl - datetime.timedelta(seconds=1) <= cert.not_valid_after_utc
    assert cert.not_valid_after_utc <= answered + ttl
    assert kubectl(plane, config, "get", "namespaces").returncode == 0


def test_a_kubeconfig_from_another_state_is_refused_by_tls(
    plane: ControlPlane, tmp_path: Path
) -> None:
    """Another state made another CA: kubectl does not trust this API server with it."""
    other = applied_state(tmp_path / "other.db")
    config = strata_kubeconfig(other, tmp_path / "other.kubeconfig")
    refused = kubectl(plane, config, "get", "namespaces")
    assert refused.returncode != 0
    assert "certificate signed by unknown authority" in refused.stderr
