"""Each thread's own CPU over a benchmark's run, grouped by what the thread is: where a
process's CPU went (bench/lifecycle_scale.py), read from the kernel's account of each
thread (user + system time)."""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict
from pathlib import Path

__all__ = [
    "REFERENCE_ADDITIONS",
    "CollectorClock",
    "ThreadClocks",
    "load_average",
    "reference_loop",
    "thread_cpu",
]


class ThreadClocks:
    """Each thread's own CPU, grouped by what the thread is (``_group``): the threads
    alive at ``read`` from the kernel's account of them, those that ended before from
    the CPU they had spent when they ended (``threading.Thread.run`` wrapped for the
    run's length). Seconds, counted from ``__init__`` (threads alive then: what they
    spent since)."""

    def __init__(self) -> None:
        self._ended: dict[int, tuple[str, float]] = {}  # native id -> (group, CPU at end)
        self._lock = threading.Lock()
        self._start = {t.native_id: thread_cpu(t.native_id) for t in threading.enumerate()}
        run, ended, lock = threading.Thread.run, self._ended, self._lock

        def counted(thread: threading.Thread) -> None:
            try:
                run(thread)
            finally:
                spent = time.thread_time()
                with lock:
                    ended[threading.get_native_id()] = (_group(thread.name), spent)

        setattr(threading.Thread, "run", counted)  # noqa: B010 (mypy: a method assigned)
        self._run = run

    def read(self) -> dict[str, float]:
        """Seconds per group. A thread's account is read before the CPU it had at its
        end: one that ends in between (a pool shutting down) has the latter by then."""
        setattr(threading.Thread, "run", self._run)  # noqa: B010
        alive = [
            (t.native_id, _group(t.name), thread_cpu(t.native_id)) for t in threading.enumerate()
        ]
        with self._lock:
            ended = dict(self._ended)
        groups: defaultdict[str, float] = defaultdict(float)
        for group, spent in ended.values():
            groups[group] += spent
        for native_id, group, spent in alive:
            if native_id not in ended:
                groups[group] += spent - self._start.get(native_id, 0.0)
        return dict(groups)


def thread_cpu(native_id: int | None) -> float:
    """Seconds a thread of this process has run on a CPU (``/proc/self/task/ID/schedstat``:
    user and system; 0 once it has ended). Not ``pthread_getcpuclockid``: asked of a
    thread that has just ended, that reads freed memory (a run crashed on it)."""
    try:
        text = Path(f"/proc/self/task/{native_id}/schedstat").read_text()
    except OSError:
        return 0.0
    return int(text.split()[0]) / 1e9


def _group(name: str) -> str:
    """A thread's name without its number: 'strata-bmc_12' -> 'strata-bmc'."""
    if name.endswith("(process_request_thread)"):
        return "api-requests"
    if name.startswith(("watch-", "node-api-")) and name != "watch-log":
        return name.split("-")[0] + ("-api" if name.startswith("node") else "-layers")
    return name.rsplit("_", 1)[0] if name.startswith("strata-bmc") else name


def load_average() -> tuple[float, float, float]:
    """The machine's load averages (1, 5, 15 minutes), now."""
    one, five, fifteen = (float(x) for x in Path("/proc/loadavg").read_text().split()[:3])
    return one, five, fifteen


REFERENCE_ADDITIONS = 10_000_000


def reference_loop(additions: int = REFERENCE_ADDITIONS) -> float:
    """CPU seconds this thread spends on ``additions`` integer additions in a CPython
    loop: how fast this machine's cores are today, so that CPU per node of runs on
    different days (or VMs on busier hosts) can be compared."""
    started, total = time.thread_time(), 0
    for i in range(additions):
        total += i
    return time.thread_time() - started


class CollectorClock:
    """The cyclic garbage collector's passes over a run (``gc.callbacks``): how many of
    each generation and the wall seconds they took (the collector runs in whichever
    thread allocates, holding the GIL: that thread's CPU, and the others wait)."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.passes[generation] += 1
        self.seconds[generation] += time.perf_counter() - self._started

    def stop(self) -> dict[str, list[float]]:
        gc.callbacks.remove(self._callback)
        return {"passes": [float(p) for p in self.passes], "seconds": self.seconds}
