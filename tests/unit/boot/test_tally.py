"""Coalescing what clients make the boot service write: once per key and window, in
bounded memory, with every occurrence accounted for."""

from __future__ import annotations

from strata.boot.tally import MAX_NAMED_SOURCES, OTHERS, OVER, Key, Tally

FORGED: Key = ("lab-cp-0", "token-rejected", (("reason", "bad signature"), ("route", "ignition")))


def test_the_first_is_written_and_repeats_are_summarized_when_the_window_closes() -> None:
    tally = Tally(window=60)
    assert tally.offer(FORGED, "10.0.0.5", now=0, capped=True)
    assert not any(tally.offer(FORGED, "10.0.0.5", now=t, capped=True) for t in range(1, 59))
    assert not tally.offer(FORGED, "10.0.0.6", now=59, capped=True)
    assert tally.closed(now=59.9) == []
    [summary] = tally.closed(now=60)
    assert summary.detail() == {
        "event": "token-rejected",
        "reason": "bad signature",
        "route": "ignition",
        "repeats": 59,
        "sources": {"10.0.0.5": 58, "10.0.0.6": 1},
        "seconds": 60,
    }
    assert tally.offer(FORGED, "10.0.0.5", now=61, capped=True)  # a new window


def test_a_window_without_repeats_leaves_no_summary() -> None:
    tally = Tally(window=60)
    tally.offer(FORGED, "10.0.0.5", now=0, capped=True)
    assert tally.closed(now=100) == []
    assert tally.tracked() == 0


def test_invented_keys_beyond_the_bounds_are_counted_under_star() -> None:
    tally = Tally(window=60, max_tracked=10, max_per_source=4)
    written = 0
    for i in range(1000):  # one address inventing MACs
        key: Key = (
            OVER,
            "unknown-machine",
            (("mac", f"52:54:00:00:{i // 256:02x}:{i % 256:02x}"),),
        )
        written += tally.offer(key, "10.0.0.5", now=0, capped=True)
    assert written == 4
    for i in range(100):  # many addresses, one key each
        key = ("lab-cp-0", "token-rejected", (("reason", f"r{i}"),))
        written += tally.offer(key, f"10.0.1.{i}", now=1, capped=True)
    assert written == 10
    assert tally.tracked() == 10 + 2  # and one overflow window per event
    summaries = {(s.node, s.event): s for s in tally.drain()}
    assert summaries[(OVER, "unknown-machine")].count == 996
    over = summaries[(OVER, "token-rejected")]
    assert over.count == 94
    assert len(over.sources) == MAX_NAMED_SOURCES + 1
    assert over.sources[OTHERS] == 94 - MAX_NAMED_SOURCES


def test_keys_the_service_bounds_are_always_tracked() -> None:
    tally = Tally(window=60, max_tracked=1, max_per_source=1)
    tally.offer(FORGED, "10.0.0.5", now=0, capped=True)
    installed: Key = ("lab-cp-0", "installed", (("attempt", 1),))
    assert tally.offer(installed, "10.0.0.5", now=0, capped=False)


def test_a_closed_window_frees_its_share_of_the_bounds() -> None:
    tally = Tally(window=60, max_tracked=1, max_per_source=1)
    other: Key = ("lab-worker-0", "token-rejected", ())
    assert tally.offer(FORGED, "10.0.0.5", now=0, capped=True)
    assert not tally.offer(other, "10.0.0.5", now=1, capped=True)
    tally.closed(now=61)
    assert tally.offer(other, "10.0.0.5", now=62, capped=True)
