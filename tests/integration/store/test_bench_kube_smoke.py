"""bench/lifecycle_kube.py keeps working: the lab example on both stores, near-zero
latencies, its own API server (the figures are in docs/benchmarks.md); and
bench/kube_request_cost.py prints a row for each kind of request."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.kube_api import assets_dir, etcd_binary
from tests.support.shared import ROOT


def test_lifecycle_kube_runs_on_both_stores_and_prints_its_figures() -> None:
    env = {**os.environ, "KUBEBUILDER_ASSETS": str(assets_dir())}
    etcd_binary()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/lifecycle_kube.py"),
            *("--file", str(ROOT / "examples/lab/topology.yaml")),
            *("--latency", "0.001,0.002", "--boot", "0.05,0.1", "--install", "0.05,0.1"),
            *("--ignore-budgets", "--both"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("result          {'provisioned': 3}") == 2
    for figure in ("API requests    per node", "PUT servers/status", "etcd ", "kube-apiserver"):
        assert figure in result.stdout
    bounds = [line for line in result.stdout.splitlines() if line.startswith("bound ")]
    assert len(bounds) == 2 and "nodes/s had this run's processes" in bounds[0]
    assert result.stdout.count("a reference loop (10,000,000 CPython additions)") == 2
    assert "sqlite" in result.stdout.splitlines()[-1]  # the side-by-side table


def test_kube_request_cost_prints_each_kind() -> None:
    env = {**os.environ, "KUBEBUILDER_ASSETS": str(assets_dir())}
    etcd_binary()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/kube_request_cost.py"),
            "--count",
            "20",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split(" API server ")[0].strip() for line in result.stdout.splitlines()]
    assert rows == ["GET", "GET cached", "PUT status", "PUT status, watched"]
    assert all(" ms, etcd " in line for line in result.stdout.splitlines())
