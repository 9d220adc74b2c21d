"""bench/vs_ironic.py keeps working: Ironic from PyPI in its own venv, ten nodes each side,
in both configurations (fake hardware; Redfish against sushy-tools' emulator)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIGURES = (
    "wall time",
    "nodes/s",
    "CPU-seconds per node",
    "peak RSS",
    "status read p99",
    "CPU at rest",
    "memory at rest",
)


def test_the_comparison_runs_with_ten_nodes(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench/vs_ironic.py")),
            *("--nodes", "10", "--runs", "1", "--workdir", str(tmp_path)),
            *("--power-sync", "5"),  # at rest: 5 s, not Ironic's default minute
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for config in ("fake", "redfish"):
        table = result.stdout.split(f"{config}, N = 10 nodes, medians of 1")[1].split("\n\n")[0]
        for figure in FIGURES:
            line = next(row for row in table.splitlines() if row.startswith(figure))
            ratio = line.split()[-1]  # after Ironic's figure and Strata's
            assert ratio == "-" or float(ratio) >= 0, line  # "-": Ironic's figure is 0
