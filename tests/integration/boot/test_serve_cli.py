"""`strata serve` as a person runs it: a process on a port, answering machines; SIGHUP reloads."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from strata.lab.image import stand_ins_for
from strata.plan import build_plan
from strata.topology import load
from tests.support.boot_server import free_port
from tests.support.promtool import promtool_check

ROOT = Path(__file__).resolve().parents[3]


def eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_serve_provisions_the_named_node_and_reloads_on_sighup(tmp_path: Path) -> None:
    topology = tmp_path / "topology.yaml"
    shutil.copy(ROOT / "examples/lab/topology.yaml", topology)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stand_ins_for(tmp_path / "mirror", build_plan(load(topology)).nodes)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strata.cli.app",
            "serve",
            "-f",
            str(topology),
            "--listen",
            f"127.0.0.1:{port}",
            "--url",  # the test is the machines, on this host
            base,
            "--artifacts",
            str(tmp_path / "mirror"),
            "--provision",
            "lab-worker-0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        umask=0,  # what Strata writes is private whatever the caller's umask
    )

    def ipxe(mac: str) -> str:
        return httpx.get(f"{base}/ipxe", params={"mac": mac}, timeout=5).text

    def up() -> bool:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return httpx.get(f"{base}/boot.ipxe", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(up, "strata serve did not come up")
        assert f"chain {base}/ipxe?mac=" in httpx.get(f"{base}/boot.ipxe").text
        assert "install flatcar 4081.2.0 on lab-worker-0" in ipxe("52:54:00:10:00:02")
        assert ipxe("52:54:00:10:00:01").rstrip().endswith("exit")  # not being provisioned

        topology.write_text(
            topology.read_text().replace('version: "4081.2.0"', 'version: "4081.3.0"')
        )
        os.kill(process.pid, signal.SIGHUP)
        eventually(lambda: "install flatcar 4081.3.0" in ipxe("52:54:00:10:00:02"), "no reload")

        topology.write_text("apiVersion: [broken\n")
        os.kill(process.pid, signal.SIGHUP)
        time.sleep(1)
        assert process.poll() is None
        assert "install flatcar 4081.3.0" in ipxe("52:54:00:10:00:02")  # the running plan stays
    finally:
        process.terminate()
        code = process.wait(10)
    assert code == 0, "SIGTERM stops serve cleanly (its server drained, dnsmasq stopped)"
    state = tmp_path / ".strata" / "strata.db"
    assert state.stat().st_mode & 0o777 == 0o600
    assert state.parent.stat().st_mode & 0o777 == 0o700
    written = [p for p in (tmp_path / ".strata").rglob("*")]
    assert written and all(p.stat().st_mode & 0o077 == 0 for p in written), written


def test_serve_with_the_web_face_counts_what_machines_asked(tmp_path: Path) -> None:
    """`--web-listen`: /metrics on its own port counts the boot service's answers by
    route and status, as promtool reads them; the boot port serves no /metrics."""
    topology = tmp_path / "topology.yaml"
    shutil.copy(ROOT / "examples/lab/topology.yaml", topology)
    port, web = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "strata.cli.app", "serve", "-f", str(topology)]
    command += ["--listen", f"127.0.0.1:{port}", "--url", base, "--web-listen", f"127.0.0.1:{web}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def up() -> bool:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return httpx.get(f"http://127.0.0.1:{web}/metrics", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(up, "strata serve's web face did not come up")
        for _ in range(3):
            assert httpx.get(f"{base}/boot.ipxe", timeout=5).status_code == 200
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404  # not on the boot port
        exposition = httpx.get(f"http://127.0.0.1:{web}/metrics", timeout=5)
    finally:
        process.terminate()
        code = process.wait(10)
    assert code == 0
    text = exposition.text
    assert 'strata_boot_requests_total{route="/boot.ipxe",status="200"} 3.0' in text
    assert 'strata_boot_requests_total{route="unmatched",status="404"} 1.0' in text
    promtool_check(exposition.content)
