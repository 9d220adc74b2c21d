"""An expired bootstrap token is refused by the real API server, and a fresh one
(what Strata's rotation makes) authenticates and gets cluster-info signed.

Both Secrets are created together, the expired one first: once the API server
authenticates the fresh one, its token cache has seen the expired one too, so the
expired token's 401 is the expiry's doing, not a cache that had not caught up (or the
token cleaner's, which deletes expired tokens: the cluster refuses them either way)."""

from __future__ import annotations

import datetime

import httpx
import pytest

from strata.kube.discovery import DiscoveryError, verify_cluster_info
from strata.kube.tokens import BootstrapToken
from tests.integration.kube.tokens_api import as_token, create_token, signed_cluster_info
from tests.support.kube_api import ControlPlane, wait_for

NAMESPACES = "/api/v1/namespaces"


def test_expired_token_refused_and_rotation_works(plane: ControlPlane, cluster_info: str) -> None:
    now = datetime.datetime.now(datetime.UTC)
    expired = BootstrapToken.generate(
        now - datetime.timedelta(hours=2), datetime.timedelta(hours=1)
    )
    fresh = BootstrapToken.generate(now)
    assert expired.expired(now) and not fresh.expired(now)
    create_token(plane, expired)
    create_token(plane, fresh)

    def authenticated() -> httpx.Response | None:
        response = as_token(plane, fresh, NAMESPACES)
        return None if response.status_code == 401 else response

    # authenticated as the token's user, then denied by RBAC: the token itself works
    response = wait_for(authenticated, 60, "the API server to authenticate the fresh token")
    assert response.status_code == 403
    assert f"system:bootstrap:{fresh.token_id}" in response.json()["message"]
    assert as_token(plane, expired, NAMESPACES).status_code == 401

    data = signed_cluster_info(plane, fresh.token_id)
    assert f"jws-kubeconfig-{expired.token_id}" not in data  # the signer skips expired tokens
    with pytest.raises(DiscoveryError, match="no signature"):
        verify_cluster_info(data, expired, [plane.pki.discovery_hash])
    assert verify_cluster_info(data, fresh, [plane.pki.discovery_hash]).server == plane.url
