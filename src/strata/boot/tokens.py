"""Per-node, per-attempt tokens: what lets a machine fetch its own Ignition config, once.

A token is ``base64url(attempt | stage | expiry | HMAC-SHA256(key, node | attempt |
stage | expiry)[:16])``. It names no secret and carries no node name (the URL does);
forging one needs the key, which Strata keeps. The ``live`` and ``final`` config
tokens are single-use (the service records each use); the ``events`` token may post
several phone-home events until it expires.

An *artifact token* (stage byte ``ARTIFACTS``, which is no ``Stage``: ``check`` refuses
it, and ``check_artifacts`` refuses every stage token) rides on the install script's
artifact URLs. It proves only that a request comes from the node's install of that
attempt, so that a missing file can be an event on the node; it lets its bearer do
nothing else. The script is served to whoever presents the node's MAC (``/ipxe``), so
it must not carry the reusable ``events`` token: with it, anyone who read the script
could post ``installed`` for the node.

A *media token* (stage byte ``MEDIA``, attempt 0) rides on the URL of a node's virtual
media image (``strata.boot.media``), which a BMC fetches: it lets its bearer read that
node's image until it expires, and nothing else. The image holds no secret (a chain to
``/ipxe`` by the node's MAC, which anyone may ask for); the token bounds who may make
the service build it, and for how long.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass

from strata.provisioning import Stage

__all__ = ["ARTIFACTS", "MEDIA", "Grant", "Stage", "TokenRejected", "TokenSigner"]

_BODY = struct.Struct(">IBI")  # attempt, stage, expiry (unix seconds)
_MAC_BYTES = 16
ARTIFACTS = 0  # the stage byte of an artifact token; Stage starts at 1
MEDIA = 255  # the stage byte of a media token: no Stage either


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
        return self._sign(grant.node, grant.attempt, grant.stage, grant.expires)

    def issue_artifacts(self, node: str, attempt: int, expires: int) -> str:
        """The artifact token of ``node``'s ``attempt`` (see the module's docstring)."""
        return self._sign(node, attempt, ARTIFACTS, expires)

    def issue_media(self, node: str, expires: int) -> str:
        """The media token of ``node``, valid until ``expires`` (unix seconds)."""
        return self._sign(node, 0, MEDIA, expires)

    def check_media(self, node: str, token: str, now: float) -> None:
        """Nothing when ``token`` is ``node``'s unexpired media token; ``TokenRejected``
        for any other token, forged or expired."""
        _, stage, _ = self._open(node, token, now)
        if stage != MEDIA:
            raise TokenRejected("not a media token")

    def check(self, node: str, token: str, now: float) -> Grant:
        """The grant a token carries for ``node``; ``TokenRejected`` when forged or expired."""
        attempt, stage, expires = self._open(node, token, now)
        if stage in (ARTIFACTS, MEDIA):
            raise TokenRejected("an artifact or media token")
        if stage not in Stage.__members__.values():
            raise TokenRejected("unknown stage")
        return Grant(node, attempt, Stage(stage), expires)

    def check_artifacts(self, node: str, token: str, now: float) -> int:
        """The attempt an artifact token of ``node`` names; ``TokenRejected`` for any other
        token, forged or expired."""
        attempt, stage, _ = self._open(node, token, now)
        if stage != ARTIFACTS:
            raise TokenRejected("not an artifact token")
        return attempt

    def _sign(self, node: str, attempt: int, stage: int, expires: int) -> str:
        body = _BODY.pack(attempt, stage, expires)
        raw = body + self._mac(node, body)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def _open(self, node: str, token: str, now: float) -> tuple[int, int, int]:
        """Attempt, stage byte and expiry of a token signed for ``node``, unexpired."""
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
        if expires < now:
            raise TokenRejected("expired")
        return attempt, stage, expires

    def _mac(self, node: str, body: bytes) -> bytes:
        return hmac.new(self._key, node.encode() + b"\0" + body, hashlib.sha256).digest()[
            :_MAC_BYTES
        ]
