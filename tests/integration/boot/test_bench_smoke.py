"""bench/boot_storm.py keeps working (small N; the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_boot_storm_benchmark_runs() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "boot_storm.py"),
            "--machines",
            "10",
            "--concurrency",
            "4",
            "--seconds",
            "1",
            "--artifact-mb",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "flow 10 " in out and "ipxe 10 " in out
    assert "artifact 5 MB: boot service" in out and "nginx/boot service" in out
