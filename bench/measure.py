"""What the benchmarks measure with: process CPU time and memory, free ports, and a
sampler that times a read while work is in flight."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from strata.lab.ports import free_port as free_port


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc/PID/stat (proc(5), fields 14 and 15)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (a launcher's forked workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu(pid: int) -> float:
    """CPU-seconds of a process and its descendants, the reaped ones included
    (fields 14-17: utime, stime, cutime, cstime)."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = _stat(member)
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM), from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib(pid: int) -> float:
    return rss_mib(pid, "VmHWM")


def tree_rss_mib(pid: int, field: str = "VmHWM") -> float:
    """The sum over a process tree: its peaks (VmHWM) or what it holds now (VmRSS)."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += rss_mib(member, field)
    return total


def at_rest(pid: int, seconds: float) -> tuple[float, float]:
    """A process tree's CPU (cores) over ``seconds`` of rest, and its memory after."""
    before = tree_cpu(pid)
    time.sleep(seconds)
    return (tree_cpu(pid) - before) / seconds, tree_rss_mib(pid, "VmRSS")


class Sampler:
    """Calls ``read`` every ``every`` seconds on a thread of its own; keeps each read's
    latency and the CPU time the reads cost this process (for a reader that runs in
    the measuring process, that CPU belongs to the measured system)."""

    def __init__(self, read: Callable[[], object], every: float = 0.2) -> None:
        self.read = read
        self.every = every
        self.latencies: list[float] = []
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            start, cpu = time.perf_counter(), time.thread_time()
            with contextlib.suppress(Exception):  # a failed read counts at its time, too
                self.read()
            self.latencies.append(time.perf_counter() - start)
            self.cpu += time.thread_time() - cpu

    def stop(self) -> float:
        """Stop sampling; the p99 latency in seconds."""
        self._stop.set()
        self._thread.join()
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return float(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])
