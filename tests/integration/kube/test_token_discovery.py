"""Token discovery against the real controller manager's bootstrap signer: a bootstrap
token Secret made from ``strata.kube.tokens`` gets cluster-info signed, and
``strata.kube.discovery`` accepts it with the right token and CA hash, as
``kubeadm join`` would, and refuses a wrong hash, a wrong secret or an unknown token."""

from __future__ import annotations

import datetime

import httpx
import pytest

from strata.kube.discovery import DiscoveryError, detached_signature, verify_cluster_info
from strata.kube.pki import generate_pki
from strata.kube.tokens import BootstrapToken
from tests.integration.kube.tokens_api import (
    CLUSTER_INFO,
    cluster_info_insecurely,
    create_token,
    signed_cluster_info,
)
from tests.support.kube_api import ControlPlane

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def signed(plane: ControlPlane, cluster_info: str) -> tuple[BootstrapToken, dict[str, str]]:
    """A token the cluster knows, and cluster-info once the signer signed it."""
    token = BootstrapToken.generate(NOW)
    create_token(plane, token)
    return token, signed_cluster_info(plane, token.token_id)


def test_signer_signs_and_discovery_accepts(
    plane: ControlPlane, cluster_info: str, signed: tuple[BootstrapToken, dict[str, str]]
) -> None:
    token, data = signed
    assert data["kubeconfig"] == cluster_info
    # the Go signer and Strata's Python agree byte for byte on the detached JWS
    expected = detached_signature(cluster_info, token.token_id, token.secret)
    assert data[f"jws-kubeconfig-{token.token_id}"] == expected
    endpoint = verify_cluster_info(data, token.value, [plane.pki.discovery_hash])
    assert (endpoint.server, endpoint.ca_pem) == (plane.url, plane.pki.ca.cert_pem)
    # kubeadm's second read: over TLS verified with the CA just pinned, the same kubeconfig
    with httpx.Client(base_url=endpoint.server, verify=plane.ssl_context()) as pinned:
        assert pinned.get(CLUSTER_INFO).json()["data"]["kubeconfig"] == cluster_info


def test_wrong_ca_hash_is_refused(
    plane: ControlPlane, signed: tuple[BootstrapToken, dict[str, str]]
) -> None:
    token, data = signed
    other = generate_pki(NOW).discovery_hash
    with pytest.raises(DiscoveryError, match="is not the pinned CA") as refused:
        verify_cluster_info(data, token, [other])
    assert plane.pki.discovery_hash in str(refused.value)
    assert token.secret not in str(refused.value)


def test_wrong_token_secret_is_refused(
    plane: ControlPlane, signed: tuple[BootstrapToken, dict[str, str]]
) -> None:
    token, data = signed
    forged = BootstrapToken(token.token_id, "0" * 16, token.expires)
    with pytest.raises(DiscoveryError, match="does not verify") as refused:
        verify_cluster_info(data, forged, [plane.pki.discovery_hash])
    assert forged.secret not in str(refused.value)
    assert refused.value.hint


def test_token_the_cluster_does_not_know_is_refused(plane: ControlPlane, cluster_info: str) -> None:
    stranger = BootstrapToken.generate(NOW)
    data = cluster_info_insecurely(plane)
    with pytest.raises(DiscoveryError, match="no signature for token id"):
        verify_cluster_info(data, stranger, [plane.pki.discovery_hash])
