"""bench/vs_ironic.py keeps working: Ironic from PyPI in its own venv, ten nodes each side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_comparison_runs_with_ten_nodes(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench/vs_ironic.py")),
            *("--nodes", "10", "--runs", "1", "--workdir", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    assert "N = 10 nodes, fake hardware" in table
    for figure in ("wall time", "nodes/s", "CPU-seconds per node", "peak RSS", "status read p99"):
        line = next(row for row in table.splitlines() if row.startswith(figure))
        assert len(line.split()) >= 4, line  # Ironic, Strata and their ratio
