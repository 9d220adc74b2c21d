"""Boot tokens: only Strata's key makes them; they name their node, attempt, stage and expiry."""

from __future__ import annotations

import pytest

from strata.boot import Grant, Stage, TokenRejected, TokenSigner

KEY = b"k" * 32
GRANT = Grant("node-a", 3, Stage.LIVE, 2_000_000_000)


def test_a_token_round_trips() -> None:
    signer = TokenSigner(KEY)
    assert signer.check("node-a", signer.issue(GRANT), now=1_900_000_000) == GRANT


@pytest.mark.parametrize(
    ("node", "mutate", "reason"),
    [
        ("node-b", lambda t: t, "bad signature"),  # another node's URL
        ("node-a", lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), "bad signature"),
        ("node-a", lambda t: "x" + t, "malformed"),
        ("node-a", lambda t: "!!!", "malformed"),
        ("node-a", lambda t: "", "malformed"),
    ],
)
def test_forged_or_misused_tokens_are_refused(node: str, mutate: object, reason: str) -> None:
    signer = TokenSigner(KEY)
    with pytest.raises(TokenRejected, match=reason):
        signer.check(node, mutate(signer.issue(GRANT)), now=1_900_000_000)  # type: ignore[operator]


def test_another_key_cannot_make_tokens() -> None:
    forged = TokenSigner(b"x" * 32).issue(GRANT)
    with pytest.raises(TokenRejected, match="bad signature"):
        TokenSigner(KEY).check("node-a", forged, now=1_900_000_000)


def test_expiry() -> None:
    signer = TokenSigner(KEY)
    with pytest.raises(TokenRejected, match="expired"):
        signer.check("node-a", signer.issue(GRANT), now=2_000_000_001)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenSigner(b"short")


def test_an_artifact_token_is_good_for_nothing_but_artifacts() -> None:
    """The install script's artifact URLs carry it: it must not open a config or post an
    event, and no config or events token may pass for it."""
    signer = TokenSigner(KEY)
    token = signer.issue_artifacts("node-a", 3, 2_000_000_000)
    assert signer.check_artifacts("node-a", token, now=1_900_000_000) == 3
    with pytest.raises(TokenRejected, match="an artifact or media token"):
        signer.check("node-a", token, now=1_900_000_000)
    for stage in Stage:
        other = signer.issue(Grant("node-a", 3, stage, 2_000_000_000))
        with pytest.raises(TokenRejected, match="not an artifact token"):
            signer.check_artifacts("node-a", other, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="bad signature"):
        signer.check_artifacts("node-b", token, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="expired"):
        signer.check_artifacts("node-a", token, now=2_000_000_001)


def test_a_media_token_opens_only_its_nodes_image() -> None:
    """A BMC fetches a node's virtual media with it: it must not open a config, post an
    event or pass for an artifact token, and no other token may pass for it."""
    signer = TokenSigner(KEY)
    token = signer.issue_media("node-a", 2_000_000_000)
    signer.check_media("node-a", token, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="an artifact or media token"):
        signer.check("node-a", token, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="not an artifact token"):
        signer.check_artifacts("node-a", token, now=1_900_000_000)
    others = [signer.issue(Grant("node-a", 0, s, 2_000_000_000)) for s in Stage]
    for other in [*others, signer.issue_artifacts("node-a", 0, 2_000_000_000)]:
        with pytest.raises(TokenRejected, match="not a media token"):
            signer.check_media("node-a", other, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="bad signature"):
        signer.check_media("node-b", token, now=1_900_000_000)
    with pytest.raises(TokenRejected, match="expired"):
        signer.check_media("node-a", token, now=2_000_000_001)
