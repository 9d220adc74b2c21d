"""bench/bmc_fanout.py keeps working (a small N; the real figures are in docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_fanout_benchmark_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bmc_fanout.py"), "--count", "10", "--parallel", "4"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("power status of 10 BMCs, 4 at once")
    for backend in ("mock", "emulator"):
        assert any(line.startswith(f"{backend:<10} warm") for line in lines), result.stdout
