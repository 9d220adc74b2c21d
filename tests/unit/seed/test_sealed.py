"""The seed's secrets sealed with a passphrase (scrypt + AES-256-GCM): a round trip, a
wrong passphrase refused as such, any changed byte detected, no value in clear."""

from __future__ import annotations

import base64
import json

import pytest

from strata.seed.sealed import (
    SealedError,
    Secrets,
    SecretsAltered,
    WrongPassphrase,
    open_plain,
    seal,
    seal_plain,
    unseal,
)

N = 2**14  # the cheapest cost a reader accepts: the tests' speed
VALUES = {"credentials/lab-bmc": "Sealed-Pw-41d2", "credentials/rack-2": "påss wörd ✓"}


def sealed() -> bytes:
    return seal(Secrets(VALUES), "correct horse battery", n=N)


def test_a_round_trip_gives_every_value_back() -> None:
    opened = unseal(sealed(), "correct horse battery")
    assert opened.names() == sorted(VALUES)
    assert {n: opened.reveal(n) for n in opened.names()} == VALUES


def test_the_header_names_every_parameter_and_two_seals_differ() -> None:
    one, two = json.loads(sealed()), json.loads(sealed())
    assert one["kdf"]["name"] == "scrypt" and one["kdf"]["n"] == N and one["kdf"]["r"] == 8
    assert one["cipher"]["name"] == "AES-256-GCM"
    assert len(base64.b64decode(one["kdf"]["salt"])) == 16
    assert len(base64.b64decode(one["cipher"]["nonce"])) == 12
    assert one["kdf"]["salt"] != two["kdf"]["salt"] and one["ciphertext"] != two["ciphertext"]


def test_no_value_is_in_clear_in_the_sealed_bytes() -> None:
    raw = sealed()
    for value in VALUES.values():
        for form in (value.encode(), value.encode("utf-16-le"), json.dumps(value).encode()):
            assert form not in raw
        assert base64.b64encode(value.encode()) not in raw


def test_a_wrong_passphrase_is_refused_as_such() -> None:
    with pytest.raises(WrongPassphrase, match="passphrase does not open") as caught:
        unseal(sealed(), "correct horse battery!")
    assert caught.value.exit_code == 2 and caught.value.hint


def test_a_changed_byte_of_ciphertext_is_detected() -> None:
    document = json.loads(sealed())
    raw = bytearray(base64.b64decode(document["ciphertext"]))
    for index in (0, len(raw) // 2, len(raw) - 1):  # the body, and the tag at its end
        changed = bytearray(raw)
        changed[index] ^= 1
        forged = dict(document, ciphertext=base64.b64encode(changed).decode())
        with pytest.raises(SecretsAltered, match="altered"):
            unseal(json.dumps(forged).encode(), "correct horse battery")


def test_a_changed_header_is_detected() -> None:
    """The header is the cipher's associated data: a nonce changed (the key unchanged)
    fails the tag; a salt or cost changed changes the key: not opened either."""
    document = json.loads(sealed())
    nonce = bytearray(base64.b64decode(document["cipher"]["nonce"]))
    nonce[0] ^= 1
    forged = dict(
        document, cipher={"name": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode()}
    )
    with pytest.raises(SecretsAltered):
        unseal(json.dumps(forged).encode(), "correct horse battery")
    with pytest.raises(WrongPassphrase):
        unseal(
            json.dumps(dict(document, kdf={**document["kdf"], "n": 2**15})).encode(),
            "correct horse battery",
        )


@pytest.mark.parametrize(
    "change",
    [
        {"format": "other"},
        {"kdf": {"name": "pbkdf2"}},
        {"kdf": {"name": "scrypt", "n": 2**30, "r": 8, "p": 1, "salt": "AAAA"}},
        {"cipher": {"name": "ROT13", "nonce": "AAAA"}},
    ],
)
def test_a_document_this_strata_does_not_read_is_refused(change: dict[str, object]) -> None:
    document = json.loads(sealed()) | change
    with pytest.raises(SealedError):
        unseal(json.dumps(document).encode(), "correct horse battery")


def test_a_short_passphrase_is_refused_and_no_message_or_repr_shows_a_value() -> None:
    with pytest.raises(SealedError, match="shorter than 8"):
        seal(Secrets(VALUES), "short", n=N)
    shown = repr(Secrets(VALUES)) + str(Secrets(VALUES))
    assert "credentials/lab-bmc" in shown
    assert all(v not in shown for v in VALUES.values())
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(Secrets(VALUES))


def test_plaintext_secrets_round_trip() -> None:
    opened = open_plain(seal_plain(Secrets(VALUES)))
    assert {n: opened.reveal(n) for n in opened.names()} == VALUES
    with pytest.raises(SealedError):
        open_plain(sealed())
