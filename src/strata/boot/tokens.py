"""Per-node, per-attempt tokens: what lets a machine fetch its own Ignition config, once.

A token is ``base64url(attempt | stage | expiry | HMAC-SHA256(key, node | attempt |
stage | expiry)[:16])``. It names no secret and carries no node name (the URL does);
forging one needs the key, which Strata keeps. The ``live`` and ``final`` config
tokens are single-use (the service records each use); the ``events`` token may post
several phone-home events until it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass

from strata.provisioning import Stage

__all__ = ["Grant", "Stage", "TokenRejected", "TokenSigner"]

_BODY = struct.Struct(">IBI")  # attempt, stage, expiry (unix seconds)
_MAC_BYTES = 16


class TokenRejected(Exception):
    """Why a token was refused; the reason is safe to record (it never holds the token)."""


@dataclass(frozen=True, slots=True)
class Grant:
    node: str
    attempt: int
    stage: Stage
    expires: int


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the token key needs at least 32 bytes")
        self._key = key

    def issue(self, grant: Grant) -> str:
        body = _BODY.pack(grant.attempt, grant.stage, grant.expires)
        raw = body + self._mac(grant.node, body)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def check(self, node: str, token: str, now: float) -> Grant:
        """The grant a token carries for ``node``; ``TokenRejected`` when forged or expired."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise TokenRejected("malformed token") from None
        if len(raw) != _BODY.size + _MAC_BYTES:
            raise TokenRejected("malformed token")
        body, mac = raw[: _BODY.size], raw[_BODY.size :]
        if not hmac.compare_digest(mac, self._mac(node, body)):
            raise TokenRejected("bad signature (forged, or for another node)")
        attempt, stage, expires = _BODY.unpack(body)
        if stage not in Stage.__members__.values():
            raise TokenRejected("unknown stage")
        if expires < now:
            raise TokenRejected("expired")
        return Grant(node, attempt, Stage(stage), expires)

    def _mac(self, node: str, body: bytes) -> bytes:
        return hmac.new(self._key, node.encode() + b"\0" + body, hashlib.sha256).digest()[
            :_MAC_BYTES
        ]
