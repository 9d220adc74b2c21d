"""Kubeconfig files: Strata's admin credential, a node's bootstrap credential, and the
cluster-only kubeconfig ``kubeadm init`` publishes in ``kube-public/cluster-info``.

The format is client-go's ``clientcmd/api/v1`` Config (kubectl docs: "Organizing Cluster
Access Using kubeconfig Files"); the names follow kubeadm: cluster ``kubernetes``, the
bootstrap user ``tls-bootstrap-token-user`` (cmd/kubeadm/app/constants/constants.go:
``TLSBootstrapUser``), and the cluster-info kubeconfig holds one cluster named ``""``
and nothing else (cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go,
``CreateBootstrapConfigMapIfNotExists``). Certificates and keys are inlined
(``*-data``, base64 of the PEM) so the file stands alone. Pure.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import yaml

from strata.errors import StrataError
from strata.kube.tokens import BootstrapToken

__all__ = [
    "ClusterEndpoint",
    "KubeconfigError",
    "admin_kubeconfig",
    "bootstrap_kubeconfig",
    "cluster_info_kubeconfig",
    "read_cluster",
]

CLUSTER = "kubernetes"  # kubeadm's default clusterName
ADMIN_USER = "strata-admin"
BOOTSTRAP_USER = "tls-bootstrap-token-user"


class KubeconfigError(StrataError):
    """A kubeconfig that does not say which server and CA to trust."""

    kind = "kubeconfig"
    hint = "the kubeconfig needs exactly one cluster with a server and certificate-authority-data"


@dataclass(frozen=True)
class ClusterEndpoint:
    """Where a cluster's API answers and the CA its serving certificate chains to."""

    server: str
    ca_pem: str


def admin_kubeconfig(
    server: str,
    ca_pem: str,
    client_cert_pem: str,
    client_key_pem: str,
    *,
    user: str = ADMIN_USER,
    cluster: str = CLUSTER,
) -> str:
    """A kubeconfig authenticating with a client certificate (``pki.issue_client_cert``)."""
    credentials = {
        "client-certificate-data": _b64(client_cert_pem),
        "client-key-data": _b64(client_key_pem),
    }
    return _dump(_config(cluster, _cluster(server, ca_pem), user, credentials))


def bootstrap_kubeconfig(
    server: str, ca_pem: str, token: BootstrapToken, *, cluster: str = CLUSTER
) -> str:
    """What the kubelet's ``--bootstrap-kubeconfig`` reads: the CA, the server and the
    bootstrap token (kubeadm's join writes the same, ``bootstrap-kubelet.conf``)."""
    credentials = {"token": token.value}
    return _dump(_config(cluster, _cluster(server, ca_pem), BOOTSTRAP_USER, credentials))


def cluster_info_kubeconfig(server: str, ca_pem: str) -> str:
    """The ``kubeconfig`` value of ``kube-public/cluster-info``: one cluster, no user."""
    return _dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "", "cluster": _cluster(server, ca_pem)}],
            "contexts": None,
            "current-context": "",
            "preferences": {},
            "users": None,
        }
    )


def read_cluster(text: str) -> ClusterEndpoint:
    """The one cluster a kubeconfig names: its server and CA (PEM)."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeconfigError("the kubeconfig is not YAML") from None
    clusters = config.get("clusters") if isinstance(config, dict) else None
    if not isinstance(clusters, list) or len(clusters) != 1:
        raise KubeconfigError("the kubeconfig does not hold exactly one cluster")
    entry = clusters[0].get("cluster") if isinstance(clusters[0], dict) else None
    if not isinstance(entry, dict):
        raise KubeconfigError("the kubeconfig's cluster entry is empty")
    server, ca_data = entry.get("server"), entry.get("certificate-authority-data")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise KubeconfigError("the kubeconfig's cluster has no https:// server")
    if not isinstance(ca_data, str):
        raise KubeconfigError("the kubeconfig's cluster has no certificate-authority-data")
    return ClusterEndpoint(server, _unb64(ca_data))


def _config(
    cluster: str, cluster_entry: dict[str, str], user: str, credentials: dict[str, str]
) -> dict[str, object]:
    context = f"{user}@{cluster}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
        "preferences": {},
        "users": [{"name": user, "user": credentials}],
    }


def _cluster(server: str, ca_pem: str) -> dict[str, str]:
    return {"certificate-authority-data": _b64(ca_pem), "server": server}


def _dump(config: dict[str, object]) -> str:
    text: str = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    return text


def _b64(pem: str) -> str:
    return base64.b64encode(pem.encode()).decode()


def _unb64(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise KubeconfigError("the kubeconfig's certificate-authority-data is not base64") from None
