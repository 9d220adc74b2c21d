"""The guard: transient faults retried with bounded, jittered backoff; others never."""

from __future__ import annotations

import random
import threading
import time

import pytest

from strata.bmc import AuthenticationFailed, BMCFault, TimedOut, Unreachable
from strata.bmc.guard import Guard, RetryPolicy


def flaky(failures: list[Exception], result: str = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return calls, call


def test_transient_faults_are_retried_until_success() -> None:
    guard = Guard("n", "redfish://b", RetryPolicy(attempts=3, base_delay=0.001), timeout=5)
    calls, call = flaky([Unreachable("n", "b", "down"), BMCFault("n", "b", "500", transient=True)])
    assert guard.run("op", call) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3


def test_attempts_are_bounded() -> None:
    guard = Guard("n", "b", RetryPolicy(attempts=2, base_delay=0.001), timeout=5)
    calls, call = flaky([Unreachable("n", "b", "down")] * 5)
    with pytest.raises(Unreachable):
        guard.run("op", call)  # type: ignore[arg-type]
    assert len(calls) == 2


@pytest.mark.parametrize(
    "error",
    [AuthenticationFailed("n", "b", "bad password"), BMCFault("n", "b", "400 bad request")],
)
def test_permanent_faults_are_not_retried(error: Exception) -> None:
    guard = Guard("n", "b", RetryPolicy(attempts=5, base_delay=0.001), timeout=5)
    calls, call = flaky([error] * 5)
    with pytest.raises(type(error)):
        guard.run("op", call)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_no_retry_past_the_deadline() -> None:
    guard = Guard("n", "b", RetryPolicy(attempts=10, base_delay=10, max_delay=10), timeout=0.2)
    guard._rng = random.Random(1)  # a delay near 10 s: past the 0.2 s deadline
    calls, call = flaky([Unreachable("n", "b", "down")] * 10)
    start = time.monotonic()
    with pytest.raises(Unreachable):
        guard.run("op", call)  # type: ignore[arg-type]
    assert time.monotonic() - start < 0.5
    assert len(calls) == 1


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4)
    rng = random.Random(7)
    for retry, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= cap
        assert max(delays) > cap * 0.8  # spread over the whole range, not a fixed pause


def test_one_operation_at_a_time() -> None:
    guard = Guard("n", "b", RetryPolicy(), timeout=5)
    inside, most = [0], [0]
    lock = threading.Lock()

    def call() -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.01)
        with lock:
            inside[0] -= 1

    threads = [threading.Thread(target=guard.run, args=("op", call)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_waiting_for_a_busy_bmc_times_out() -> None:
    guard = Guard("n", "b", RetryPolicy(), timeout=0.1)
    release = threading.Event()
    busy = threading.Thread(target=guard.run, args=("hold", lambda: release.wait(2)))
    busy.start()
    time.sleep(0.02)
    with pytest.raises(TimedOut, match="another operation held the BMC"):
        guard.run("op", lambda: None)
    release.set()
    busy.join()
