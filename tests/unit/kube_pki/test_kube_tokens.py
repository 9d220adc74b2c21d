"""strata.kube.tokens: the token's shape, its expiry, kubeadm's Secret, and secrets that
never show in repr, str or errors."""

from __future__ import annotations

import base64
import datetime
import re

import pytest

from strata.kube.tokens import (
    DEFAULT_GROUP,
    DEFAULT_TTL,
    BootstrapToken,
    CertificateKey,
    TokenError,
    new_certificate_key,
)

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
SHAPE = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")


def test_generated_tokens_have_the_shape_and_differ() -> None:
    tokens = [BootstrapToken.generate(NOW) for _ in range(200)]
    assert all(SHAPE.fullmatch(t.value) for t in tokens)
    assert len({t.value for t in tokens}) == 200
    assert len({c for t in tokens for c in t.secret}) > 30  # the whole alphabet is used


def test_expiry_is_ttl_from_now_and_expired_at_the_instant() -> None:
    token = BootstrapToken.generate(NOW, datetime.timedelta(minutes=30))
    assert token.expires == NOW + datetime.timedelta(minutes=30)
    assert BootstrapToken.generate(NOW).expires == NOW + DEFAULT_TTL
    assert not token.expired(token.expires - datetime.timedelta(seconds=1))
    assert token.expired(token.expires)


def test_secret_never_shows_in_repr_or_str() -> None:
    token = BootstrapToken.generate(NOW)
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert token.secret not in text
        assert token.token_id in text
    key = new_certificate_key()
    assert key.value not in repr(key) and key.value not in str(key)


@pytest.mark.parametrize(
    "text", ["abcdef.0123456789abcdeF", "abcde.0123456789abcdef", "abcdef:0123456789abcdef", ""]
)
def test_malformed_tokens_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(TokenError) as refused:
        BootstrapToken.parse(text, NOW)
    assert text not in str(refused.value) or not text
    assert refused.value.hint


def test_naive_expiry_is_refused() -> None:
    with pytest.raises(TokenError, match="time zone"):
        BootstrapToken.parse("abcdef.0123456789abcdef", datetime.datetime(2026, 1, 1))


def test_secret_manifest_is_kubeadms() -> None:
    token = BootstrapToken.parse("abcdef.0123456789abcdef", NOW + datetime.timedelta(hours=24))
    manifest = token.secret_manifest()
    assert manifest["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert manifest["type"] == "bootstrap.kubernetes.io/token"
    data = manifest["data"]
    assert isinstance(data, dict)
    decoded = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert decoded == {
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "description": "Strata: joins this layer's nodes",
        "expiration": "2026-12-01T12:00:00Z",  # RFC 3339, as Go's time.RFC3339 writes UTC
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": DEFAULT_GROUP,
    }


def test_expiration_is_written_in_utc() -> None:
    other_zone = datetime.timezone(datetime.timedelta(hours=2))
    token = BootstrapToken.parse(
        "abcdef.0123456789abcdef", datetime.datetime(2026, 12, 1, 14, 0, tzinfo=other_zone)
    )
    data = token.secret_manifest()["data"]
    assert isinstance(data, dict)
    assert base64.b64decode(data["expiration"]) == b"2026-12-01T12:00:00Z"


def test_json_round_trip() -> None:
    token = BootstrapToken.generate(NOW)
    assert BootstrapToken.from_json(token.to_json()) == token
    with pytest.raises(TokenError):
        BootstrapToken.from_json('{"token": "nope"}')


def test_certificate_key_is_32_random_bytes_hex() -> None:
    keys = {new_certificate_key().value for _ in range(50)}
    assert len(keys) == 50
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    with pytest.raises(TokenError):
        CertificateKey("ABC")
