"""bench/lifecycle_scale.py keeps working: the lab example, near-zero latencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_lifecycle_scale_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/lifecycle_scale.py"),
            *("--file", str(ROOT / "examples/lab/topology.yaml")),
            *("--latency", "0.001,0.002", "--boot", "0.05,0.1", "--install", "0.05,0.1"),
            "--ignore-budgets",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "result          {'provisioned': 3}" in result.stdout
    for figure in ("nodes/s", "CPU per node", "loop busy", "peak RSS"):
        assert figure in result.stdout
