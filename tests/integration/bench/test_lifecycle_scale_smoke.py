"""bench/lifecycle_scale.py keeps working: both runs, to provisioned and to joined, on a
small topology with tiny delays (the real watch of Nodes against the simulated API)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_both_runs_side_by_side_on_a_small_topology() -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench/lifecycle_scale.py")),
            *("--file", str(ROOT / "examples/midsize/topology.yaml"), "--ignore-budgets"),
            *("--latency", "0.001,0.003", "--boot", "0.02,0.05", "--install", "0.02,0.05"),
            *("--join", "0.05,0.1", "--concurrency", "64"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "result          {'provisioned': 393}" in out, out
    assert "result          {'joined': 393}" in out, out
    table = out.split("\nrun ")[1].splitlines()
    assert table[1].startswith("to provisioned") and table[2].startswith("to joined"), out
    requests = next(line for line in out.splitlines() if line.startswith("API requests"))
    # one list and one watch per layer, plus a few refused connects before the APIs
    # answer: a handful, not one per node
    assert int(requests.split()[2]) < 30, requests
    assert "joins add" in table[-1], out
