"""Bootstrap tokens and the certificate key: what lets a machine join a layer's cluster.

A bootstrap token is ``<id>.<secret>``, ``[a-z0-9]{6}.[a-z0-9]{16}``; the id is public
(it names the Secret and the ``jws-kubeconfig-<id>`` signature), the secret is not
(kubeadm docs: "Authenticating with Bootstrap Tokens",
https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/). The API
server authenticates it as ``system:bootstrap:<id>`` until its expiration; the
controller manager's token cleaner deletes it after. Strata gives each token a TTL and
makes a new one when it expired before every node joined.

``secret_manifest`` is the Secret kubeadm creates for a token
(cmd/kubeadm/app/apis/bootstraptoken/v1/utils.go, ``BootstrapTokenToSecret`` and
``encodeTokenSecretData``; the key names from staging/src/k8s.io/cluster-bootstrap/token/
api/types.go). The certificate key is what ``kubeadm init --upload-certs`` encrypts the
control-plane certificates with and ``kubeadm join --control-plane --certificate-key``
reads: 32 random bytes, hex (cmd/kubeadm/app/phases/copycerts/copycerts.go,
``CreateCertificateKey``).

Pure: the caller passes ``now``. A token's secret and the certificate key never show in
``repr`` or ``str``, and no error message carries them.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import secrets
import string
from dataclasses import dataclass, field

from strata.errors import StrataError

__all__ = [
    "DEFAULT_GROUP",
    "DEFAULT_TTL",
    "BootstrapToken",
    "CertificateKey",
    "TokenError",
    "new_certificate_key",
]

TOKEN_PATTERN = re.compile(r"([a-z0-9]{6})\.([a-z0-9]{16})")  # bootstrapapi.BootstrapTokenPattern
_ALPHABET = (
    string.ascii_lowercase + string.digits
)  # cluster-bootstrap util: validBootstrapTokenChars
DEFAULT_TTL = datetime.timedelta(hours=24)  # kubeadm's default token TTL
# The group kubeadm's node-bootstrap RBAC bindings name (kubeadm constants:
# NodeBootstrapTokenAuthGroup).
DEFAULT_GROUP = "system:bootstrappers:kubeadm:default-node-token"
DEFAULT_USAGES = ("authentication", "signing")
SECRET_TYPE = "bootstrap.kubernetes.io/token"
CERTIFICATE_KEY_BYTES = 32  # kubeadm constants: CertificateKeySize


class TokenError(StrataError):
    """A token that is not a bootstrap token; the message never holds the token."""

    kind = "kube-token"
    hint: str | None = "a bootstrap token is 6 and 16 characters of [a-z0-9] joined by a dot"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


@dataclass(frozen=True)
class BootstrapToken:
    """A bootstrap token and when it expires (UTC)."""

    token_id: str
    secret: str = field(repr=False)
    expires: datetime.datetime
    description: str = "Strata: joins this layer's nodes"
    groups: tuple[str, ...] = (DEFAULT_GROUP,)
    usages: tuple[str, ...] = DEFAULT_USAGES

    def __post_init__(self) -> None:
        if not TOKEN_PATTERN.fullmatch(f"{self.token_id}.{self.secret}"):
            raise TokenError("not a bootstrap token")
        if self.expires.tzinfo is None:
            raise TokenError("a bootstrap token's expiry needs a time zone", hint="pass UTC")

    @classmethod
    def generate(
        cls, now: datetime.datetime, ttl: datetime.timedelta = DEFAULT_TTL
    ) -> BootstrapToken:
        """A new random token valid for ``ttl`` from ``now`` (``secrets``: the OS's CSPRNG)."""
        return cls(_random(6), _random(16), now + ttl)

    @classmethod
    def parse(cls, text: str, expires: datetime.datetime) -> BootstrapToken:
        """``<id>.<secret>`` (as ``kubeadm token create`` prints it)."""
        match = TOKEN_PATTERN.fullmatch(text)
        if match is None:
            raise TokenError("not a bootstrap token")
        return cls(match[1], match[2], expires)

    @property
    def value(self) -> str:
        """The whole token, ``<id>.<secret>``: what a joining node presents."""
        return f"{self.token_id}.{self.secret}"

    @property
    def secret_name(self) -> str:
        return f"bootstrap-token-{self.token_id}"

    def expired(self, now: datetime.datetime) -> bool:
        return now >= self.expires

    def __str__(self) -> str:
        return f"{self.token_id}.<secret>"

    def secret_manifest(self) -> dict[str, object]:
        """The kube-system Secret that makes the token real (as ``kubeadm token create``)."""
        data = {
            "token-id": self.token_id,
            "token-secret": self.secret,
            "description": self.description,
            "expiration": _rfc3339(self.expires),
            **{f"usage-bootstrap-{u}": "true" for u in self.usages},
            "auth-extra-groups": ",".join(self.groups),
        }
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": self.secret_name, "namespace": "kube-system"},
            "type": SECRET_TYPE,
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items() if v},
        }

    def to_json(self) -> str:
        """For Strata's store: the store keeps secrets; this text holds one."""
        fields = {
            "token": self.value,
            "expires": _rfc3339(self.expires),
            "description": self.description,
            "groups": list(self.groups),
            "usages": list(self.usages),
        }
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BootstrapToken:
        try:
            raw = json.loads(text)
            expires = datetime.datetime.fromisoformat(raw["expires"])
            token = cls.parse(raw["token"], expires)
            extra = (raw["description"], tuple(raw["groups"]), tuple(raw["usages"]))
        except (ValueError, KeyError, TypeError):
            raise TokenError("the stored bootstrap token is not the JSON Strata writes") from None
        return cls(token.token_id, token.secret, token.expires, *extra)


@dataclass(frozen=True)
class CertificateKey:
    """The key ``kubeadm join --control-plane --certificate-key`` decrypts the uploaded
    control-plane certificates with (hex of 32 bytes)."""

    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(rf"[0-9a-f]{{{CERTIFICATE_KEY_BYTES * 2}}}", self.value):
            raise TokenError(
                "not a certificate key", hint=f"{CERTIFICATE_KEY_BYTES} bytes as lowercase hex"
            )

    def __str__(self) -> str:
        return "<certificate key>"


def new_certificate_key() -> CertificateKey:
    return CertificateKey(secrets.token_hex(CERTIFICATE_KEY_BYTES))


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _rfc3339(moment: datetime.datetime) -> str:
    """UTC, seconds, ``Z``: Go's ``time.RFC3339`` of a UTC time, as kubeadm writes it."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
