"""`strata serve` as a person runs it: a process on a port, answering machines."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.boot_server import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_serve_provisions_the_named_node(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strata.cli.app",
            "serve",
            str(ROOT / "examples/lab/topology.yaml"),
            "--listen",
            f"127.0.0.1:{port}",
            "--state",
            str(tmp_path / "s.db"),
            "--artifacts",
            str(tmp_path / "mirror"),
            "--provision",
            "lab-worker-0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                entry = httpx.get(f"http://127.0.0.1:{port}/boot.ipxe", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "strata serve did not come up"
                time.sleep(0.2)
        assert f"chain http://127.0.0.1:{port}/ipxe?mac=" in entry.text
        worker = httpx.get(
            f"http://127.0.0.1:{port}/ipxe", params={"mac": "52:54:00:10:00:02"}
        ).text
        assert "install flatcar 4081.2.0 on lab-worker-0" in worker
        cp = httpx.get(f"http://127.0.0.1:{port}/ipxe", params={"mac": "52:54:00:10:00:01"}).text
        assert cp.rstrip().endswith("exit")  # not being provisioned: its own disk
    finally:
        process.terminate()
        process.wait(10)
    assert (tmp_path / "s.db").stat().st_mode & 0o077 == 0
