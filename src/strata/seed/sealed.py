"""The seed's secrets sealed with a passphrase: ``secrets.sealed`` on the medium.

A JSON document whose header names every parameter needed to open it (RFC 7914's
scrypt as key derivation, with its cost and a random 16-byte salt; AES-256-GCM, NIST SP
800-38D, with a random 12-byte nonce) and whose body is the ciphertext of the secrets'
JSON. The header is the cipher's associated data: a changed parameter, like a changed
byte of ciphertext, makes the authentication tag fail. Both primitives are the
``cryptography`` library's (pyca, backed by OpenSSL).

scrypt derives 64 bytes: the first 32 are the AES key, the SHA-256 of the last 32 is
kept in the header as ``check``, so that a wrong passphrase is told apart from altered
ciphertext; it costs a guesser the same scrypt run as the tag does.

Values never appear in a message, a ``repr`` or a log line; ``Secrets`` keeps them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from strata.errors import StrataError

__all__ = [
    "CIPHER",
    "FORMAT",
    "MIN_PASSPHRASE",
    "SCRYPT_N",
    "SealedError",
    "Secrets",
    "SecretsAltered",
    "WrongPassphrase",
    "open_plain",
    "seal",
    "seal_plain",
    "unseal",
]

FORMAT = "strata-sealed-secrets"
PLAIN_FORMAT = "strata-secrets"
VERSION = 1
CIPHER = "scrypt+AES-256-GCM"  # as seed.json names it
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # about 32 MiB and 0.1 s a derivation
MIN_PASSPHRASE = 8  # characters
_N_RANGE = (2**14, 2**20)  # what a reader accepts: a forged header cannot ask for 16 GiB
_SALT, _NONCE = 16, 12


class SealedError(StrataError):
    """The sealed secrets cannot be opened; the message says why, never a value."""

    kind = "seed-secrets"
    exit_code = 2


class WrongPassphrase(SealedError):
    kind = "seed-passphrase"
    hint = "give the passphrase the seed was built with (`strata seed build` asked it twice)"


class SecretsAltered(SealedError):
    kind = "seed-secrets-altered"
    hint = "write the image to the medium again, or build a new one"


class Secrets:
    """Secret values by name (``credentials/<name>``); ``repr`` shows names only."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def names(self) -> list[str]:
        return sorted(self._values)

    def reveal(self, name: str) -> str:
        return self._values[name]

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({self.names()})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("Secrets are not pickled")


def seal(secrets: Secrets, passphrase: str, *, n: int = SCRYPT_N) -> bytes:
    """The sealed document (UTF-8 JSON bytes) of ``secrets``. ``SealedError`` when the
    passphrase is shorter than ``MIN_PASSPHRASE`` characters."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(passphrase) < MIN_PASSPHRASE:
        raise SealedError(f"the passphrase is shorter than {MIN_PASSPHRASE} characters")
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    kdf = {"name": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)}
    key, check = _derive(passphrase, kdf)
    header = {"format": FORMAT, "version": VERSION, "kdf": kdf}
    header |= {"cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)}, "check": check}
    body = json.dumps({n: secrets.reveal(n) for n in secrets.names()}).encode()
    ciphertext = AESGCM(key).encrypt(nonce, body, _canonical(header))
    return json.dumps({**header, "ciphertext": _b64(ciphertext)}, indent=1).encode() + b"\n"


def unseal(document: bytes, passphrase: str) -> Secrets:
    """The secrets of a ``seal`` document. ``WrongPassphrase`` when the passphrase does not
    open it, ``SecretsAltered`` when the tag fails (a changed byte), ``SealedError``
    when it is not a sealed document this Strata reads."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header, ciphertext = _parse(document)
    key, check = _derive(passphrase, header["kdf"])
    if not hmac.compare_digest(check, str(header["check"])):
        raise WrongPassphrase(
            "the passphrase does not open the seed's secrets (a wrong passphrase)"
        )
    nonce = _unb64(header["cipher"]["nonce"], "cipher.nonce")
    try:
        body = AESGCM(key).decrypt(nonce, ciphertext, _canonical(header))
    except InvalidTag:
        raise SecretsAltered(
            "the seed's secrets.sealed was altered: its authentication tag does not match"
        ) from None
    return Secrets(_values(json.loads(body)))


def seal_plain(secrets: Secrets) -> bytes:
    """The secrets in clear (``--plaintext-secrets``): UTF-8 JSON bytes."""
    values = {n: secrets.reveal(n) for n in secrets.names()}
    document = {"format": PLAIN_FORMAT, "version": VERSION, "secrets": values}
    return json.dumps(document, indent=1).encode() + b"\n"


def open_plain(document: bytes) -> Secrets:
    """The secrets of a ``seal_plain`` document; ``SealedError`` when it is not one."""
    data = _json(document)
    if data.get("format") != PLAIN_FORMAT or data.get("version") != VERSION:
        raise SealedError("secrets.json is not a Strata secrets document of version 1")
    return Secrets(_values(data.get("secrets")))


def _derive(passphrase: str, kdf: Mapping[str, Any]) -> tuple[bytes, str]:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt = _unb64(kdf["salt"], "kdf.salt")
    derived = Scrypt(salt=salt, length=64, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
        passphrase.encode()
    )
    return derived[:32], hashlib.sha256(derived[32:]).hexdigest()


def _parse(document: bytes) -> tuple[dict[str, Any], bytes]:
    data = _json(document)
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise SealedError(f"secrets.sealed is not a {FORMAT} document of version {VERSION}")
    kdf, cipher = data.get("kdf"), data.get("cipher")
    if not isinstance(kdf, dict) or not isinstance(cipher, dict):
        raise SealedError("secrets.sealed has no kdf or cipher parameters")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if kdf.get("name") != "scrypt" or not all(isinstance(v, int) for v in (n, r, p)):
        raise SealedError("secrets.sealed names a key derivation other than scrypt")
    assert isinstance(n, int) and isinstance(p, int)
    if not (_N_RANGE[0] <= n <= _N_RANGE[1] and n & (n - 1) == 0 and r == 8 and 1 <= p <= 4):
        raise SealedError(f"secrets.sealed asks for scrypt costs out of bounds (n={n}, r={r})")
    if cipher.get("name") != "AES-256-GCM" or not isinstance(data.get("check"), str):
        raise SealedError("secrets.sealed names a cipher other than AES-256-GCM")
    header = {k: v for k, v in data.items() if k != "ciphertext"}
    return header, _unb64(data.get("ciphertext"), "ciphertext")


def _json(document: bytes) -> dict[str, Any]:
    try:
        data = json.loads(document)
    except (UnicodeDecodeError, ValueError):
        raise SealedError("the secrets document is not JSON") from None
    if not isinstance(data, dict):
        raise SealedError("the secrets document is not a JSON object")
    return data


def _values(data: Any) -> dict[str, str]:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise SealedError("the secrets are not a mapping of names to text")
    return data


def _canonical(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise SealedError(f"secrets.sealed: {what} is not base64") from None
