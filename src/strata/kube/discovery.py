"""Token discovery: how a joining node comes to trust a cluster it has never seen, as
``kubeadm join --discovery-token ... --discovery-token-ca-cert-hash sha256:...`` does.

The node reads ``kube-public/cluster-info`` without trusting the server (anonymous,
TLS unverified), then:

1. checks the bootstrap signer's ``jws-kubeconfig-<token-id>`` entry: a JWS with
   detached content (RFC 7515, appendix F) over the ``kubeconfig`` entry, HS256 keyed
   with the token's secret, protected header ``{"alg":"HS256","kid":"<token-id>"}``;
   kubeadm recomputes it and compares the strings
   (staging/src/k8s.io/cluster-bootstrap/token/jws/jws.go: ``ComputeDetachedSignature``,
   ``DetachedTokenIsValid``). A valid signature proves the ConfigMap was signed by
   someone holding the token: the cluster's controller manager.
2. pins the CA in that kubeconfig: the SHA-256 of some certificate's SubjectPublicKeyInfo
   must be among the expected ``sha256:`` hashes
   (cmd/kubeadm/app/util/pubkeypin/pubkeypin.go: ``Allow``, ``CheckAny``). The pin
   protects against a token that leaked: whoever holds it can sign, but cannot
   present Strata's CA key.

kubeadm does both in cmd/kubeadm/app/discovery/token/token.go
(``retrieveValidatedConfigInfo``, ``validateClusterInfoToken``, ``validateClusterCA``),
then fetches cluster-info again over TLS verified with the pinned CA and requires the
same kubeconfig; that second fetch is I/O and belongs to the caller (this module is pure:
it judges the ConfigMap's data, it fetches nothing). Unlike kubeadm, Strata always pins:
an empty set of hashes (kubeadm's ``unsafeSkipCAVerification``) is refused.

go-jose pads a secret shorter than 32 bytes with zeros to 32; HMAC pads every key
shorter than its 64-byte block with zeros anyway (RFC 2104, section 2), so the padding
changes nothing and the secret is the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence

from cryptography import x509

from strata.errors import StrataError
from strata.kube.kubeconfig import ClusterEndpoint, KubeconfigError, read_cluster
from strata.kube.pki import spki_pin
from strata.kube.tokens import TOKEN_PATTERN, BootstrapToken

__all__ = ["DiscoveryError", "detached_signature", "verify_cluster_info"]

KUBECONFIG_KEY = "kubeconfig"  # cluster-bootstrap token/api: KubeConfigKey
SIGNATURE_PREFIX = "jws-kubeconfig-"  # cluster-bootstrap token/api: JWSSignatureKeyPrefix
_PIN = re.compile(r"sha256:([0-9a-fA-F]{64})")


class DiscoveryError(StrataError):
    """The cluster could not be trusted: the node refuses it. Messages name the token's
    id and the CA hashes (both public), never the token's secret."""

    kind = "kube-discovery"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def detached_signature(content: str, token_id: str, token_secret: str) -> str:
    """``<protected header>..<signature>``: the compact JWS of ``content`` with the
    content left out, exactly as the bootstrap signer writes it."""
    header = json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":"))
    encoded_header = _b64url(header.encode())
    signing_input = f"{encoded_header}.{_b64url(content.encode())}".encode()
    mac = hmac.new(token_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{encoded_header}..{_b64url(mac)}"


def verify_cluster_info(
    data: Mapping[str, str], token: BootstrapToken | str, ca_hashes: Sequence[str]
) -> ClusterEndpoint:
    """The server and CA of ``cluster-info``'s ``data`` once its signature holds for
    ``token`` and its CA matches one of ``ca_hashes``; raises ``DiscoveryError``."""
    pins = _pins(ca_hashes)
    token_id, secret = _split(token)
    kubeconfig = data.get(KUBECONFIG_KEY)
    if not kubeconfig:
        raise DiscoveryError(
            "cluster-info has no kubeconfig: this API server is not set up for token discovery",
            hint="the first control-plane node creates kube-public/cluster-info (kubeadm init)",
        )
    _check_signature(data, kubeconfig, token_id, secret)
    try:
        endpoint = read_cluster(kubeconfig)
    except KubeconfigError as exc:
        raise DiscoveryError(f"cluster-info's kubeconfig is malformed: {exc}") from None
    _check_pin(endpoint.ca_pem, pins)
    return endpoint


def _check_signature(data: Mapping[str, str], kubeconfig: str, token_id: str, secret: str) -> None:
    signature = data.get(SIGNATURE_PREFIX + token_id)
    if not signature:
        raise DiscoveryError(
            f"cluster-info holds no signature for token id {token_id!r}: the cluster does "
            "not know this token, or it expired",
            hint="a new bootstrap token is needed (Strata rotates an expired one)",
        )
    expected = detached_signature(kubeconfig, token_id, secret)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise DiscoveryError(
            f"cluster-info's signature for token id {token_id!r} does not verify with the "
            "token: refusing to trust this API server",
            hint="the token is wrong, or something between this node and the VIP altered "
            "cluster-info",
        )


def _check_pin(ca_pem: str, pins: frozenset[str]) -> None:
    try:
        certs = x509.load_pem_x509_certificates(ca_pem.encode())
    except ValueError:
        raise DiscoveryError("cluster-info's CA is not a PEM certificate") from None
    found = [spki_pin(cert) for cert in certs]
    if pins.isdisjoint(found):
        raise DiscoveryError(
            f"cluster-info's CA ({', '.join(found)}) is not the pinned CA "
            f"({', '.join(sorted(pins))}): refusing to trust this API server",
            hint="the address reaches another cluster, or the layer's CA hash is stale",
        )


def _pins(ca_hashes: Sequence[str]) -> frozenset[str]:
    if not ca_hashes:
        raise DiscoveryError(
            "no CA hash to pin: Strata never joins a cluster it cannot verify",
            hint="pass the layer's discovery hash (sha256:<hex>)",
        )
    pins: set[str] = set()
    for number, value in enumerate(ca_hashes, 1):
        match = _PIN.fullmatch(value)
        if match is None:  # not echoed: a secret passed here by mistake stays out of logs
            raise DiscoveryError(
                f"CA hash {number} of {len(ca_hashes)} is not a CA hash",
                hint="sha256: and 64 hexadecimal digits",
            )
        pins.add("sha256:" + match[1].lower())
    return frozenset(pins)


def _split(token: BootstrapToken | str) -> tuple[str, str]:
    if isinstance(token, BootstrapToken):
        return token.token_id, token.secret
    match = TOKEN_PATTERN.fullmatch(token)
    if match is None:
        raise DiscoveryError(
            "the join token is not a bootstrap token",
            hint="6 and 16 characters of [a-z0-9] joined by a dot",
        )
    return match[1], match[2]


def _b64url(raw: bytes) -> str:
    """Base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
