"""bench/dashboard.py keeps working: on the lab example, one page load and a few
changes, every figure printed (the browser must be there: tests.support.browser)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.browser import Browser

ROOT = Path(__file__).resolve().parents[3]


def test_the_dashboard_bench_prints_its_figures(tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        Browser(tmp_path)  # skips, or fails under CI=true, saying chromium is missing
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench/dashboard.py"), "--file",
         str(ROOT / "examples/lab/topology.yaml"), "--loads", "1", "--changes", "3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["servers"] == 3
    assert figures["first_paint_ms_median"] > 0 and 0 <= figures["update_s_median"] < 60
