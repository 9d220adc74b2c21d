"""How fast a `strata` command starts: CPU seconds of `strata --version`, `--help`, and
`validate` of the lab example, each a fresh process as a person runs it.

    python bench/cli_startup.py [--runs 15] [--plan-yaml]

Prints the median and the worst CPU time (user + system, from wait4 via
``resource.getrusage(RUSAGE_CHILDREN)``) and the median wall time of each command; with
``--plan-yaml`` also `plan -o yaml` of the 10,009-node example (time and peak RSS).
Targets (issue 12): --version and --help < 0.2 s, validate of the lab < 0.5 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRATA = [sys.executable, "-c", "from strata.cli.app import main; main()"]
COMMANDS = {
    "strata --version": ["--version"],
    "strata --help": ["--help"],
    "strata validate examples/lab": ["validate", "-f", str(ROOT / "examples/lab/topology.yaml")],
}


def measure(args: list[str]) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, peak RSS MiB) of one run of ``strata ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([*STRATA, *args], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--plan-yaml", action="store_true")
    options = parser.parse_args()
    print(f"{'command':36} {'CPU median':>10} {'CPU worst':>10} {'wall median':>12}")
    for name, args in COMMANDS.items():
        runs = [measure(args) for _ in range(options.runs)]
        cpu = [r[0] for r in runs]
        wall = statistics.median(r[1] for r in runs)
        print(f"{name:36} {statistics.median(cpu):9.3f}s {max(cpu):9.3f}s {wall:11.3f}s")
    if options.plan_yaml:
        hyperscale = str(ROOT / "examples/hyperscale/topology.yaml")
        for fmt in ("json", "yaml"):
            seconds, wall, rss = measure(["plan", "-o", fmt, "--state", "/nonexistent", hyperscale])
            print(f"strata plan -o {fmt} (10,009 nodes): {wall:.2f} s wall, {seconds:.2f} s CPU")
        print(f"  peak RSS of the largest child so far: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
