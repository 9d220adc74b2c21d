"""strata.kube.kubeconfig: what kubectl reads back (a second implementation, offline)
and what discovery reads."""

from __future__ import annotations

import base64
import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from strata.kube.kubeconfig import (
    KubeconfigError,
    admin_kubeconfig,
    bootstrap_kubeconfig,
    cluster_info_kubeconfig,
    read_cluster,
)
from strata.kube.pki import ClusterPKI, generate_pki, issue_client_cert
from strata.kube.tokens import BootstrapToken

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
SERVER = "https://10.0.0.10:6443"


@pytest.fixture(scope="module")
def pki() -> ClusterPKI:
    return generate_pki(NOW)


def test_admin_kubeconfig(pki: ClusterPKI) -> None:
    admin = issue_client_cert(pki.ca, "strata-admin", ["system:masters"], now=NOW)
    config = yaml.safe_load(
        admin_kubeconfig(SERVER, pki.ca.cert_pem, admin.cert_pem, admin.key_pem)
    )
    assert config["current-context"] == "strata-admin@kubernetes"
    user = config["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]).decode() == admin.cert_pem
    assert base64.b64decode(user["client-key-data"]).decode() == admin.key_pem
    assert (
        read_cluster(admin_kubeconfig(SERVER, pki.ca.cert_pem, "c", "k")).ca_pem == pki.ca.cert_pem
    )


def test_bootstrap_kubeconfig_holds_the_token(pki: ClusterPKI) -> None:
    token = BootstrapToken.generate(NOW)
    config = yaml.safe_load(bootstrap_kubeconfig(SERVER, pki.ca.cert_pem, token))
    assert config["users"] == [{"name": "tls-bootstrap-token-user", "user": {"token": token.value}}]
    assert read_cluster(bootstrap_kubeconfig(SERVER, pki.ca.cert_pem, token)).server == SERVER


def test_cluster_info_kubeconfig_is_one_unnamed_cluster(pki: ClusterPKI) -> None:
    config = yaml.safe_load(cluster_info_kubeconfig(SERVER, pki.ca.cert_pem))
    assert [c["name"] for c in config["clusters"]] == [""]
    assert config["users"] is None and config["contexts"] is None


def test_kubectl_reads_it_back(pki: ClusterPKI, tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is missing (apt-get install kubernetes-client)")
    admin = issue_client_cert(pki.ca, "strata-admin", ["system:masters"], now=NOW)
    path = tmp_path / "admin.kubeconfig"
    path.write_text(admin_kubeconfig(SERVER, pki.ca.cert_pem, admin.cert_pem, admin.key_pem))
    template = (
        "{.clusters[0].cluster.server} {.contexts[0].context.user} {.users[0].user.client-key-data}"
    )
    result = subprocess.run(
        [kubectl, "--kubeconfig", str(path), "config", "view", "--raw", "-o", f"jsonpath={template}"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    server, user, key = result.stdout.split()
    assert (server, user) == (SERVER, "strata-admin")
    assert base64.b64decode(key).decode() == admin.key_pem


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not YAML"),
        ("clusters: []", "exactly one cluster"),
        (
            "clusters: [{name: a, cluster: {server: 'http://x', certificate-authority-data: ''}}]",
            "https",
        ),
        ("clusters: [{name: a, cluster: {server: 'https://x'}}]", "certificate-authority-data"),
        (
            "clusters: [{name: a, cluster: {server: 'https://x', certificate-authority-data: '!!'}}]",
            "base64",
        ),
    ],
)
def test_unusable_kubeconfigs_are_refused(text: str, message: str) -> None:
    with pytest.raises(KubeconfigError, match=message):
        read_cluster(text)
