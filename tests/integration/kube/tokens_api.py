"""What the kube integration tests do with bootstrap tokens on the real API: create
one's Secret (from ``strata.kube.tokens``), read cluster-info as a joining node does,
and wait for the bootstrap signer."""

from __future__ import annotations

import httpx

from strata.kube.tokens import BootstrapToken
from tests.support.kube_api import ControlPlane, wait_for

CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
SIGNER_TIMEOUT = 90.0  # s: seconds alone; generous on a shared 2-core machine


def create_token(plane: ControlPlane, token: BootstrapToken) -> None:
    with plane.client() as admin:
        response = admin.post(
            "/api/v1/namespaces/kube-system/secrets", json=token.secret_manifest()
        )
    assert response.status_code == 201, response.text


def cluster_info_insecurely(plane: ControlPlane) -> dict[str, str]:
    """kubeadm join's first read: anonymous, the server's certificate not yet verified."""
    with httpx.Client(base_url=plane.url, verify=False, timeout=30.0) as anonymous:
        response = anonymous.get(CLUSTER_INFO)
    assert response.status_code == 200, response.text
    data: dict[str, str] = response.json()["data"]
    return data


def signed_cluster_info(plane: ControlPlane, token_id: str) -> dict[str, str]:
    """cluster-info once the bootstrap signer has signed it for ``token_id``."""

    def signed() -> dict[str, str] | None:
        data = cluster_info_insecurely(plane)
        return data if f"jws-kubeconfig-{token_id}" in data else None

    return wait_for(signed, SIGNER_TIMEOUT, f"the bootstrap signer to sign for token {token_id}")


def as_token(plane: ControlPlane, token: BootstrapToken, path: str) -> httpx.Response:
    with httpx.Client(
        base_url=plane.url,
        verify=plane.ssl_context(),
        headers={"Authorization": f"Bearer {token.value}"},
        timeout=30.0,
    ) as client:
        return client.get(path)
