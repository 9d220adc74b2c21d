"""The seed's status over HTTP (`strata.cli.seed_status`), read from a real run:
`strata seed start` as a process, from a medium `strata seed build --directory` wrote
with sealed secrets, running `strata apply` against sushy-tools' emulated BMCs while
simulated machines boot from its boot service. The status answers while apply runs,
keeps answering with the outcome once it has ended (``--hold``), is read-only, and never
carries the BMC password or the passphrase."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from strata.lab.image import stand_ins_for
from strata.plan import build_plan
from strata.topology import load
from tests.integration.seed.conftest import run_strata
from tests.support.boot_server import free_port
from tests.support.fleet_topology import PASSWORD_ENV, fleet_yaml
from tests.support.http_get import get
from tests.support.machine_sim import MachineSimulator
from tests.support.redfish_emulator import Emulator, FakeSystem

PHRASE = "status-passphrase-5120"
HANG_GUARD = 300.0  # seconds for the whole run (it takes seconds)


def _medium(
    emulator: Emulator, password: str, work: Path, count: int
) -> tuple[Path, list[FakeSystem]]:
    """A medium's directory of a topology of ``count`` fresh emulated systems, its BMC
    password sealed with ``PHRASE``."""
    systems = emulator.take(count)
    site = work / "site"
    site.mkdir()
    topology = site / "topology.yaml"
    topology.write_text(fleet_yaml(emulator.url, systems))
    stand_ins_for(site / "artifacts", build_plan(load(topology)).nodes)
    (work / "phrase").write_text(PHRASE + "\n")
    built = run_strata(
        "seed", "build", str(topology), "-o", str(work / "medium"), "--directory",
        "--passphrase-file", str(work / "phrase"),
        env={**os.environ, PASSWORD_ENV: password},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return work / "medium", systems


def test_the_seed_serves_its_run_status_over_http_while_and_after_apply_runs(
    emulator: Emulator, password: str, tmp_path: Path
) -> None:
    medium, systems = _medium(emulator, password, tmp_path, 2)
    names = [s.name for s in systems]
    boot, status = free_port(), free_port()
    (tmp_path / "cmdline").write_text("boot=live\n")
    machines = MachineSimulator(emulator, systems, f"http://127.0.0.1:{boot}")
    log = (tmp_path / "seed.log").open("w")
    seed = subprocess.Popen(
        [sys.executable, "-m", "strata.cli.app", "seed", "start", "--medium", str(medium),
         "--run-dir", str(tmp_path / "run"), "--passphrase-file", str(tmp_path / "phrase"),
         "--cmdline", str(tmp_path / "cmdline"), "--status-listen", f"127.0.0.1:{status}",
         "--hold", "--mirror", str(tmp_path / "screen"), "--", "--listen", f"127.0.0.1:{boot}", "--url", f"http://127.0.0.1:{boot}",
         "-o", "plain", "--until", "provisioned"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{status}"
    answers: list[str] = []
    seen: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline and seed.poll() is None:
            code, body = get(f"{base}/status.json")
            if code == 200:
                answers.append(body)
                seen.append(json.loads(body))
                if seen[-1]["seed"]["phase"].startswith("apply exited"):
                    break
            time.sleep(0.1)
        output = (tmp_path / "seed.log").read_text()
        assert seen and seen[-1]["seed"]["phase"] == "apply exited 0", output
        assert f"status: {base}/status (and {base}/status.json)" in output

        during = [s for s in seen if s["seed"]["phase"] == "apply running" and s["status"]]
        assert during, "no answer while apply ran with its state"  # answered while running
        final = seen[-1]
        assert final["seed"]["apply_exit_code"] == 0
        assert final["seed"]["topology"] == "emulated"
        nodes = final["status"]["nodes"]
        assert {n: nodes[n]["state"] for n in names} == dict.fromkeys(names, "provisioned")
        assert final["status"]["recent_events"]
        assert final["status"]["counts"]["layer"]["mgmt"] == {"provisioned": 2}

        code, text = get(f"{base}/status")
        answers.append(text)
        assert code == 200
        assert text.startswith("strata seed: topology emulated, apply exited 0\n")
        assert "2 nodes" in text and all(name in text for name in names)
        assert "provisioned" in text and "recent events" in text

        post = urllib.request.Request(f"{base}/status.json", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(post, timeout=10)
            raise AssertionError("a POST was answered")
        except urllib.error.HTTPError as refused:
            assert refused.code == 405  # read-only

        screen = (tmp_path / "screen").read_text()  # the other console: all that was shown
        for line in ("strata seed: starting", "secrets: 1 (unsealed", "status: http://",
                     "running: strata apply", "installing -> provisioned", "apply finished"):  # fmt: skip
            assert line in screen and line in output, line
        assert password not in screen + output and PHRASE not in screen + output

        for body in answers:  # no secret in any answer
            assert password not in body and PHRASE not in body
        assert seed.poll() is None  # --hold: still serving after apply ended
    finally:
        seed.send_signal(signal.SIGTERM)
        seed.wait(30)
        machines.close()
        log.close()
    assert seed.returncode == 0  # apply's
    assert get(f"{base}/status.json")[0] == 0  # stopped with the seed
