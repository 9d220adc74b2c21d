"""A rack's power budget as a gate: K at once, S seconds apart; no budget, no gate."""

from __future__ import annotations

import itertools
import math
import threading
import time

from strata.controller.schedule import PowerGate
from strata.plan import RackPlan


def test_k_at_once_and_s_seconds_apart() -> None:
    gate = PowerGate(RackPlan("r", "z", "rack", max_concurrent_power_on=2, stagger_seconds=3))
    assert gate.wait(100.0) == 0
    gate.start(100.0)
    assert gate.wait(101.0) == 2.0  # the stagger
    gate.start(103.0)
    assert gate.wait(110.0) == math.inf  # two powering on: wait for one to settle
    gate.done()
    assert gate.wait(110.0) == 0
    gate.done()
    gate.done()  # more settles than starts never go below zero
    assert gate.powering == 0


def test_no_budget_no_waiting() -> None:
    gate = PowerGate(None)
    for i in range(1000):
        assert gate.wait(float(i) / 1000) == 0
        gate.start(float(i) / 1000)


def test_power_calls_from_late_workers_are_still_claimed_a_stagger_apart() -> None:
    """Workers that reach their power call together (one started late) are paced by the
    moments they claim, whatever the thread scheduling."""
    gate = PowerGate(RackPlan("r", "z", "rack", max_concurrent_power_on=8, stagger_seconds=0.02))
    claims: list[float] = []
    threads = [threading.Thread(target=lambda: claims.append(gate.pace())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claims.sort()
    assert len(claims) == 8
    assert all(b - a >= 0.02 - 1e-9 for a, b in itertools.pairwise(claims))
    assert time.monotonic() >= claims[-1]  # each call waited for its moment
