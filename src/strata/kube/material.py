"""What a node needs to join its layer's cluster, handed in from outside (the PKI and
token modules make it; this package only writes it into configs).

Formats are kubeadm's: a bootstrap token ``[a-z0-9]{6}.[a-z0-9]{16}``
(https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/), discovery
hashes ``sha256:<64 hex>`` of the CA's SubjectPublicKeyInfo and a certificate key of 32
bytes in hex (kubeadm's ``BootstrapTokenDiscovery.CACertHashes`` and
``JoinControlPlane.CertificateKey``,
https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["JoinMaterial"]

_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
_CA_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_CERTIFICATE_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class JoinMaterial:
    """One layer's join secrets. ``repr`` never shows them (logs carry no secrets).

    Raises ValueError on a malformed value (naming the field, never the value)."""

    token: str
    """Bootstrap token, ``abcdef.0123456789abcdef``; k3s uses it as its shared token."""
    token_ttl: timedelta
    """How long the token stays valid after ``kubeadm init`` creates it."""
    ca_cert_hashes: tuple[str, ...]
    """``sha256:<hex>`` pins of the cluster CA a joining node accepts; at least one."""
    certificate_key: str
    """Hex AES-256 key encrypting the control-plane certificates kubeadm uploads."""

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.token):
            raise ValueError(
                "JoinMaterial.token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})"
            )
        if self.token_ttl <= timedelta(0):
            raise ValueError("JoinMaterial.token_ttl must be positive")
        if not self.ca_cert_hashes or not all(_CA_HASH.match(h) for h in self.ca_cert_hashes):
            raise ValueError("JoinMaterial.ca_cert_hashes: at least one sha256:<64 hex>")
        if not _CERTIFICATE_KEY.match(self.certificate_key):
            raise ValueError("JoinMaterial.certificate_key is not 32 bytes in hex")

    def __repr__(self) -> str:
        return f"JoinMaterial(token=<redacted>, token_ttl={self.token_ttl!r}, ...)"

    @property
    def ttl_duration(self) -> str:
        """The TTL as a Go ``time.Duration`` string (``24h0m0s``), as kubeadm reads it."""
        seconds = int(self.token_ttl.total_seconds())
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60}m{rest % 60}s"
