"""Validate + plan of the 10,000-node example: wall time and peak memory.

Each run is a fresh Python process (so peak RSS is that run's own), timed
around ``check_file`` (parse, schema, resolve, rules) and ``build_plan``;
the figures printed are medians over the runs, the memory the worst run.
Target (issue 2): under 2 s and under 500 MB on a 2-core machine.

    python bench/plan_scale.py [--file examples/hyperscale/topology.yaml] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "examples" / "hyperscale" / "topology.yaml"


def measure_once(file: Path) -> dict[str, float]:
    """One run in this process: import, check, plan; seconds and peak RSS in MiB."""
    start = time.perf_counter()
    from strata.plan import build_plan
    from strata.topology import check_file

    imported = time.perf_counter()
    checked = check_file(file)
    checked_at = time.perf_counter()
    if checked.topology is None:
        raise SystemExit(f"{file} is invalid: {checked.errors[0].render()}")
    plan = build_plan(checked.topology)
    planned = time.perf_counter()
    return {
        "nodes": len(plan.nodes),
        "import_s": imported - start,
        "validate_s": checked_at - imported,
        "plan_s": planned - checked_at,
        "total_s": planned - imported,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(measure_once(args.file)))
        return
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--once", "--file", str(args.file)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    worst_rss = max(r["peak_rss_mib"] for r in runs)
    print(f"file: {args.file.relative_to(ROOT) if args.file.is_relative_to(ROOT) else args.file}")
    print(f"machine: {cpu_model()}, {_cores()} cores, Python {platform.python_version()}")
    print(f"runs: {args.runs} (fresh process each; medians, worst memory)")
    print(f"nodes:               {int(med['nodes']):>10,}")
    print(f"import strata:       {med['import_s']:>10.3f} s")
    print(f"validate (load):     {med['validate_s']:>10.3f} s")
    print(f"plan:                {med['plan_s']:>10.3f} s")
    print(f"validate + plan:     {med['total_s']:>10.3f} s   (target < 2 s)")
    print(f"peak RSS:            {worst_rss:>10.1f} MiB (target < 500 MB)")
    print(f"nodes per second:    {med['nodes'] / med['total_s']:>10,.0f}")


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
