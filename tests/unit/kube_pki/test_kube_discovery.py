"""strata.kube.discovery: the detached JWS matches kubeadm's own test vectors
(staging/src/k8s.io/cluster-bootstrap/token/jws/jws_test.go, computed by go-jose), and
cluster-info is accepted only with a valid signature and a pinned CA."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac

import pytest

from strata.kube.discovery import DiscoveryError, detached_signature, verify_cluster_info
from strata.kube.kubeconfig import cluster_info_kubeconfig
from strata.kube.pki import ClusterPKI, generate_pki
from strata.kube.tokens import BootstrapToken

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
SERVER = "https://10.0.0.10:6443"
TOKEN = BootstrapToken.parse("abcdef.0123456789abcdef", NOW + datetime.timedelta(hours=1))

# jws_test.go: content, id "joshua", secret "my voice is my passcode" (23 bytes: go-jose pads it)
CONTENT = "Hello from the other side. I must have called a thousand times."
VECTORS = [
    (CONTENT, "my voice is my passcode", "VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"),
    ("", "my voice is my passcode", "7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk"),
    (CONTENT, "", "UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8"),
]


@pytest.fixture(scope="module")
def pki() -> ClusterPKI:
    return generate_pki(NOW)


def signed_data(pki: ClusterPKI, token: BootstrapToken = TOKEN) -> dict[str, str]:
    kubeconfig = cluster_info_kubeconfig(SERVER, pki.ca.cert_pem)
    signature = detached_signature(kubeconfig, token.token_id, token.secret)
    return {"kubeconfig": kubeconfig, f"jws-kubeconfig-{token.token_id}": signature}


@pytest.mark.parametrize(("content", "secret", "signature"), VECTORS)
def test_detached_signature_matches_kubeadms_vectors(
    content: str, secret: str, signature: str
) -> None:
    assert (
        detached_signature(content, "joshua", secret)
        == f"eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..{signature}"
    )


def test_detached_signature_is_rfc7515_hs256() -> None:
    header, empty, signature = detached_signature(CONTENT, "abcdef", "0123456789abcdef").split(".")
    assert empty == ""  # the content detached (RFC 7515, appendix F)
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","kid":"abcdef"}'
    payload = base64.urlsafe_b64encode(CONTENT.encode()).rstrip(b"=")
    mac = hmac.new(b"0123456789abcdef", header.encode() + b"." + payload, hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=") == mac


def test_accepts_signed_cluster_info_with_pinned_ca(pki: ClusterPKI) -> None:
    endpoint = verify_cluster_info(signed_data(pki), TOKEN.value, [pki.discovery_hash])
    assert (endpoint.server, endpoint.ca_pem) == (SERVER, pki.ca.cert_pem)
    upper = "sha256:" + pki.discovery_hash.removeprefix("sha256:").upper()
    other = generate_pki(NOW).discovery_hash
    assert verify_cluster_info(signed_data(pki), TOKEN, [other, upper]).server == SERVER


def test_wrong_ca_hash_is_refused(pki: ClusterPKI) -> None:
    other = generate_pki(NOW).discovery_hash
    with pytest.raises(DiscoveryError, match="not the pinned CA") as refused:
        verify_cluster_info(signed_data(pki), TOKEN, [other])
    assert pki.discovery_hash in str(refused.value) and other in str(refused.value)


def test_wrong_secret_is_refused_and_not_shown(pki: ClusterPKI) -> None:
    wrong = BootstrapToken.parse("abcdef.zzzzzzzzzzzzzzzz", TOKEN.expires)
    with pytest.raises(DiscoveryError, match="does not verify") as refused:
        verify_cluster_info(signed_data(pki), wrong, [pki.discovery_hash])
    assert wrong.secret not in str(refused.value) and TOKEN.secret not in str(refused.value)


def test_altered_kubeconfig_is_refused(pki: ClusterPKI) -> None:
    """A server in the middle swapping in its own CA and address breaks the signature."""
    data = signed_data(pki)
    data["kubeconfig"] = cluster_info_kubeconfig("https://10.6.6.6:6443", pki.ca.cert_pem)
    with pytest.raises(DiscoveryError, match="does not verify"):
        verify_cluster_info(data, TOKEN, [pki.discovery_hash])


def test_a_leaked_token_without_the_ca_key_is_refused(pki: ClusterPKI) -> None:
    """Whoever holds the token can sign their own cluster-info; the pin still refuses it."""
    impostor = generate_pki(NOW)
    with pytest.raises(DiscoveryError, match="not the pinned CA"):
        verify_cluster_info(signed_data(impostor), TOKEN, [pki.discovery_hash])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kubeconfig": ""}, "no kubeconfig"),
        ({"jws-kubeconfig-abcdef": ""}, "no signature for token id 'abcdef'"),
        ({"jws-kubeconfig-abcdef": "e30..AAAA"}, "does not verify"),
        ({"jws-kubeconfig-abcdef": "ünïcode"}, "does not verify"),
    ],
)
def test_missing_or_invalid_entries_are_refused(
    pki: ClusterPKI, change: dict[str, str], message: str
) -> None:
    data = signed_data(pki) | change
    with pytest.raises(DiscoveryError, match=message):
        verify_cluster_info(data, TOKEN, [pki.discovery_hash])


@pytest.mark.parametrize("hashes", [[], ["sha256:abc"], ["md5:" + "0" * 64], ["0" * 64]])
def test_unusable_pins_are_refused(pki: ClusterPKI, hashes: list[str]) -> None:
    with pytest.raises(DiscoveryError, match="CA hash"):
        verify_cluster_info(signed_data(pki), TOKEN, hashes)


def test_malformed_token_string_is_refused_without_echo(pki: ClusterPKI) -> None:
    with pytest.raises(DiscoveryError, match="not a bootstrap token") as refused:
        verify_cluster_info(signed_data(pki), "abcdef-0123456789abcdef", [pki.discovery_hash])
    assert "0123456789abcdef" not in str(refused.value)


def test_ca_bundle_passes_when_one_certificate_is_pinned(pki: ClusterPKI) -> None:
    other = generate_pki(NOW)
    kubeconfig = cluster_info_kubeconfig(SERVER, other.ca.cert_pem + pki.ca.cert_pem)
    data = {
        "kubeconfig": kubeconfig,
        "jws-kubeconfig-abcdef": detached_signature(kubeconfig, "abcdef", TOKEN.secret),
    }
    assert verify_cluster_info(data, TOKEN, [pki.discovery_hash]).server == SERVER
