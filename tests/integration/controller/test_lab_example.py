"""examples/lab/topology.yaml itself, applied: its three servers are sushy-tools systems
(same names and MACs), with simulated machines behind them; only the BMC addresses (the
IPMI one too) and user name are pointed at the emulator. The live view draws the datacenter, and `strata
status` shows the three provisioned."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from strata.lab.image import stand_ins_for
from strata.plan import build_plan
from strata.topology import load
from tests.support.boot_server import free_port
from tests.support.machine_sim import MachineSimulator
from tests.support.redfish_emulator import Emulator

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


class Scraper:
    """Scrapes a /metrics URL every 50 ms on a thread, as Prometheus would (more often),
    while it answers; ``stop`` gives every line any scrape saw."""

    def __init__(self, url: str) -> None:
        self.url, self.lines = url, set[str]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                answer = httpx.get(self.url, timeout=2)
            except httpx.TransportError:
                continue  # not listening yet, or no more
            self.lines.update(answer.text.splitlines())  # each sample with its value

    def stop(self) -> str:
        self._stop.set()
        self._thread.join(5)
        return "\n".join(sorted(self.lines))


def test_apply_the_lab_example_with_the_live_view(
    emulator: Emulator, password: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", password)
    systems = [emulator.named[n] for n in ("lab-cp-0", "lab-worker-0", "lab-worker-1")]
    text = re.sub(
        r"redfish://192\.168\.100\.\d+/redfish/v1/Systems/([\w-]+)",
        lambda m: f"{emulator.url}{emulator.named[m.group(1)].path}",
        LAB.read_text(),
    ).replace("username: admin", "username: strata")
    file = tmp_path / "topology.yaml"
    file.write_text(text)
    stand_ins_for(tmp_path / "artifacts", build_plan(load(file)).nodes)  # what the machines "fetch"
    port, web = free_port(), free_port()
    machines = MachineSimulator(emulator, systems, f"http://127.0.0.1:{port}")
    scraper = Scraper(f"http://127.0.0.1:{web}/metrics")
    try:
        result = CliRunner().invoke(
            cli,
            [
                "apply",
                "-f",
                str(file),
                "--listen",
                f"127.0.0.1:{port}",
                "--url",
                f"http://127.0.0.1:{port}",
                "--until",
                "provisioned",  # the simulated machines run no Kubernetes
                "--web-listen",
                f"127.0.0.1:{web}",
                "-o",
                "live",
            ],
            env={"COLUMNS": "120"},
            catch_exceptions=False,
        )
    finally:
        machines.close()
        scraped = scraper.stop()
    assert result.exit_code == 0, result.output
    # the web face, scraped while the run went on: what the BMCs, machines and phases did
    assert 'strata_bmc_calls_total{operation="power on",result="ok"}' in scraped
    assert 'strata_boot_requests_total{route="/ipxe",status="200"}' in scraped
    assert 'strata_phase_duration_seconds_count{phase="registering"}' in scraped
    lag = re.findall(r'strata_reconciler_loop_lag_seconds_count\{source="event"\} (\S+)', scraped)
    assert max(map(float, lag), default=0) > 0, lag  # entries read, their lag told
    assert "strata_servers{" in scraped
    assert "plan for lab: 3 to create" in result.output
    assert "strata apply lab" in result.output and "by layer" in result.output
    assert re.search(r"│ mgmt\s+│\s+3 │\s+3 │", result.output), result.output  # 3 provisioned
    assert "apply finished" in result.output and "3 provisioned" in result.output
    boots = [m.boots for m in machines.machines.values()]
    assert boots == [["net", "disk"], ["cd", "disk"], ["cd", "disk"]]  # the workers: their images

    status = CliRunner().invoke(cli, ["status", "-f", str(file)], env={"COLUMNS": "120"})
    assert status.exit_code == 0
    assert re.search(r"│ home/desk/lab\s+│\s+3 │\s+3 │", status.output), status.output
