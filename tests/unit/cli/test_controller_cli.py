"""`strata plan` against the store, `status`, `events`, `retry`, and apply's progress views.

The records come from a real apply of the lab example against the in-process
simulated fleet; the commands read the SQLite file as a person would."""

from __future__ import annotations

import cProfile
import hashlib
import json
import os
import pstats
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from strata.cli.app import cli
from strata.cli.progress import JsonLines, LiveView, PlainLines
from strata.controller import ApplyOptions, Change, Reconciler, State, recorded
from strata.lab.image import stand_ins_for
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load
from tests.support.boot_server import free_port

ROOT = Path(__file__).resolve().parents[3]
FAST = FleetSettings(
    latency=(0.001, 0.002), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def applied(tmp_path: Path) -> Path:
    """The lab example, provisioned, with lab-worker-1 failed at booting."""
    file = tmp_path / "topology.yaml"
    file.write_text(
        (ROOT / "examples/lab/topology.yaml")
        .read_text()
        .replace("staggerSeconds: 2", "staggerSeconds: 0")
    )
    topology = load(file)
    store = SQLiteStore(tmp_path / ".strata" / "strata.db")
    fleet = Fleet(topology, store, FAST)
    fleet.machines["lab-worker-1"].no_ignition = True
    options = ApplyOptions(
        poll_interval=0.01,
        timeouts=ApplyOptions().timeouts.with_overrides({"booting": 0.5}),
        media_url=lambda node, expires: f"http://boot.invalid/media/{node}.iso",  # lab-worker-1
    )
    try:
        Reconciler(build_plan(topology, *recorded(store)), store, fleet, options).run()
    finally:
        fleet.close()
        store.close()
    return file


def test_plan_diffs_against_what_was_applied(applied: Path) -> None:
    code, out = run("plan", "-f", str(applied), "-o", "json")
    assert code == 0
    assert {a["kind"] for a in json.loads(out)["actions"]} == {"unchanged"}
    applied.write_text(applied.read_text().replace('version: "4081.2.0"', 'version: "4152.2.0"'))
    code, out = run("plan", "-f", str(applied))
    assert code == 0
    assert "3 to reprovision" in out
    assert (
        "3 to reinstall (destructive; apply holds each until --allow-reprovision names it): lab-cp-0, lab-worker-0"
        in out
    )
    assert "reprovision (os_version)" in out  # the table names the field that changed
    applied.write_text(
        applied.read_text()
        .replace('version: "4152.2.0"', 'version: "4081.2.0"')
        .replace("- name: lab-worker-1", "- name: lab-worker-9")
    )
    code, out = run("plan", "-f", str(applied))
    assert "delete (with --prune)" in out and "destructive" not in out
    assert "1 removed from the file (powered off only by `strata apply --prune`" in out


def test_status_counts_nodes_and_names_the_failed_with_their_reason(applied: Path) -> None:
    code, out = run("status", "-f", str(applied))
    assert code == 0, out
    assert "3 nodes; no controller running" in out
    assert "by layer" in out and "by rack" in out
    assert "lab-worker-1 │ booting │ the machine fetched no Ignition config within 0.5 s" in out
    code, out = run("status", "-f", str(applied), "-o", "json")
    data = json.loads(out)
    assert data["counts"]["layer"]["mgmt"] == {"provisioned": 2, "failed": 1}
    assert data["nodes"]["lab-worker-1"]["step"] == "booting"


def test_status_without_state_says_nothing_was_applied(tmp_path: Path) -> None:
    code, out = run("status", "-f", str(tmp_path / "topology.yaml"))
    assert code == 1 and "nothing has been applied yet" in out


def test_events_tell_a_nodes_story(applied: Path) -> None:
    code, out = run("events", "lab-cp-0", "--file", str(applied), "-o", "json")
    assert code == 0
    kinds = [(e["kind"], e["detail"].get("to")) for e in json.loads(out)]
    assert kinds[0] == ("declared", None) and kinds[-1] == ("state", "provisioned")
    assert ("ignition-fetched", None) in kinds
    code, out = run("events", "nobody", "--file", str(applied))
    assert code == 1 and "no node nobody" in out
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    store.record("lab-cp-0", "ipxe-fetched", {"arch": None, "attempt": 1})
    code, out = run("events", "lab-cp-0", "--file", str(applied))
    assert "attempt=1" in out and "None" not in out  # what a machine did not say is not shown


def test_retry_sends_only_failed_nodes_back(applied: Path) -> None:
    code, out = run("retry", "lab-cp-0", "--file", str(applied))
    assert code == 1 and "lab-cp-0: provisioned, not failed" in out
    code, out = run("retry", "lab-worker-1", "--file", str(applied))
    assert code == 0, out
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    record = store.records()["lab-worker-1"]
    assert (record.state, record.step, record.reason, record.deadline) == (
        "registering",
        None,
        None,
        None,
    )


def test_retry_asks_a_running_controller(applied: Path) -> None:
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    store.acquire_writer("strata apply (pid 7 on elsewhere)", ttl=60)
    code, out = run("retry", "lab-worker-1", "--file", str(applied))
    assert code == 0 and "asked strata apply (pid 7 on elsewhere) to retry lab-worker-1" in out
    assert store.records()["lab-worker-1"].state == "failed"  # the controller moves it
    assert store.events("lab-worker-1")[-1].kind == "retry-requested"


def test_maintenance_on_and_off_from_the_command_line(applied: Path) -> None:
    """`strata maintenance on|off`: with no controller running the records are written
    (the person's note kept as the reason); with one, it is asked through the log."""
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    code, out = run("maintenance", "on", "lab-cp-0", "--reason", "\x1b[2J", "--file", str(applied))
    assert code == 1 and "a reason is 1 to 500 printable characters" in out
    assert store.records()["lab-cp-0"].state == "provisioned"
    reason = "new PSU [/] [link=https://x.invalid]here[/link]"  # text, never markup
    code, out = run("maintenance", "on", "lab-cp-0", "--reason", reason, "--file", str(applied))
    assert code == 0 and "in maintenance lab-cp-0: hands off" in out, out
    record = store.records()["lab-cp-0"]
    assert (record.state, record.step, record.reason) == ("maintenance", "provisioned", reason)
    code, out = run("maintenance", "on", "lab-cp-0", "--file", str(applied))
    assert code == 1 and "lab-cp-0: already in maintenance" in out
    code, out = run("status", str(applied))
    assert code == 0 and "in maintenance: `strata maintenance" in out
    assert "new PSU [/] [link=https://x.invalid]here[/link]" in out.replace("\n", "")
    code, out = run("maintenance", "off", "lab-cp-0", "--file", str(applied))
    assert code == 0, out
    assert store.records()["lab-cp-0"].state == "provisioned"
    store.acquire_writer("strata apply (pid 7 on elsewhere)", ttl=60)
    code, out = run("maintenance", "on", "lab-cp-0", "--file", str(applied))
    assert code == 0 and "asked strata apply (pid 7 on elsewhere) to maintenance-on" in out
    assert store.events("lab-cp-0")[-1].kind == "maintenance-on-requested"


def test_a_second_apply_is_told_who_drives_the_datacenter(applied: Path) -> None:
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    store.acquire_writer("strata apply (pid 7 on elsewhere)", ttl=60)
    code, out = run("apply", "-f", str(applied), "--no-serve")
    assert code == 2
    assert "strata apply (pid 7 on elsewhere) is driving this datacenter" in out


def test_apply_refuses_unknown_nodes_and_phases(applied: Path) -> None:
    code, out = run("apply", "-f", str(applied), "--allow-reprovision", "ghost")
    assert code == 2 and "not in" in out and "ghost" in out
    code, out = run("apply", "-f", str(applied), "--timeout", "bootin=5")
    assert code == 2 and "no phase named bootin" in out


def test_apply_refuses_the_node_that_makes_a_layer_as_the_seeds_machine(applied: Path) -> None:
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    before = {n: (r.version, r.state) for n, r in store.records().items()}
    code, out = run("apply", "-f", str(applied), "--no-serve", "--seed-node", "lab-cp-0")
    assert code == 2, out
    assert "node lab-cp-0 is the first control plane of layer mgmt" in out
    assert {n: (r.version, r.state) for n, r in store.records().items()} == before
    fresh = applied.parent / "fresh.db"  # refused before a state file is made
    code, out = run("apply", "-f", str(applied), "--state", str(fresh), "--seed-node", "lab-cp-0")
    assert code == 2 and not fresh.exists(), out


CHANGES = [
    Change("n1", "r", "k1", "mgmt", None, State.DECLARED, "loaded", None, 0.0),
    Change("n1", "r", "k1", "mgmt", State.DECLARED, State.REGISTERING, "start", None, 1.0),
    Change("n2", "r", "k2", "mgmt", None, State.FAILED, "loaded", "inspecting: NIC missing", 1.0),
    Change(
        "n3",
        "r",
        "k2",
        "work",
        State.PROVISIONED,
        State.PROVISIONED,
        "held",
        None,
        2.0,
        "needs consent",
    ),
]


def test_plain_lines_and_json_lines() -> None:
    console = Console(record=True, width=200)
    plain = PlainLines(console)
    for change in CHANGES:
        plain(change)
    text = console.export_text()
    assert "n1 declared -> registering (start)" in text and "n3 held: needs consent" in text
    assert "loaded" not in text


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    for change in CHANGES:
        JsonLines()(change)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[1] == {
        "at": 1.0,
        "node": "n1",
        "rack": "k1",
        "layer": "mgmt",
        "from": "declared",
        "to": "registering",
        "event": "start",
        "reason": None,
        "held": None,
    }


def test_the_live_view_counts_by_layer_and_rack_and_lists_nodes_at_work() -> None:
    console = Console(record=True, width=120)
    view = LiveView(console, "strata apply t")
    for change in CHANGES:
        view(change)
    console.print(view._render())
    lines = console.export_text().splitlines()
    assert lines[0] == "strata apply t"
    table = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    assert ["mgmt", "1", "", "1", "2"] in table  # registering, provisioned, failed, total
    assert ["r/k2", "", "1", "1", "2"] in table
    at_work = [line.split()[:2] for line in lines if line.startswith("n")]
    assert at_work == [["n1", "registering"]]  # the failed and the held are not at work


@pytest.mark.parametrize("command", [("apply",), ("plan",), ("status",), ("retry", "lab-worker-1")])
def test_every_command_refuses_a_truncated_state_with_one_message(
    applied: Path, command: tuple[str, ...]
) -> None:
    state = applied.parent / ".strata" / "strata.db"
    state.write_bytes(b"")
    args = [*command, "--file", str(applied)] if command[0] == "retry" else [*command, str(applied)]
    code, out = run(*args)
    assert code == 2, out
    assert f"error: state file {state}: is empty (0 bytes)" in out and "hint: " in out
    assert "Traceback" not in out
    assert state.read_bytes() == b""


def test_adopt_takes_found_running_nodes_and_plan_asks_about_them(applied: Path) -> None:
    store = SQLiteStore(applied.parent / ".strata" / "strata.db")
    record = store.records()["lab-worker-1"]
    store.write_records(
        [RecordWrite("lab-worker-1", record.version, "found-running", "registering", "on")]
    )
    code, out = run("plan", "-f", str(applied))
    assert code == 0 and "1 found running — adopt or reinstall?" in out
    code, out = run("adopt", "lab-cp-0", "--file", str(applied))
    assert code == 1 and "lab-cp-0: provisioned, not found-running" in out
    code, out = run("adopt", "--all-found", "--file", str(applied))
    assert code == 0 and "adopted lab-worker-1" in out, out
    assert store.records()["lab-worker-1"].state == "provisioned"
    assert store.events("lab-worker-1")[-1].detail["event"] == "adopt"


def test_apply_refuses_before_any_power_on_when_an_install_would_miss_artifacts(
    applied: Path,
) -> None:
    """lab-worker-1 (failed) would be installed again; the mirror beside the file is empty."""
    before = SQLiteStore(applied.parent / ".strata" / "strata.db").records()
    code, out = run("apply", "-f", str(applied), "--url", "http://127.0.0.1:9")
    assert code == 2, out
    assert "artifacts missing for flatcar 4081.2.0 (for lab-worker-1)" in out
    assert "flatcar_production_pxe.vmlinuz" in out and "flatcar_production_image.bin.bz2" in out
    assert (
        f"strata artifacts import DOWNLOAD_DIR --os flatcar --version 4081.2.0 -f {applied}" in out
    )
    assert "nothing was powered on" in out
    after = SQLiteStore(applied.parent / ".strata" / "strata.db")
    assert after.records() == before and after.writer() is None  # no lease taken either


def test_artifacts_import_fills_the_mirror_serve_and_apply_read(
    applied: Path, tmp_path: Path
) -> None:
    download = tmp_path / "download"
    download.mkdir()
    names = ("flatcar_production_pxe.vmlinuz", "flatcar_production_pxe_image.cpio.gz")
    for name in names:
        (download / name).write_bytes(name.encode())
    (download / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256(n.encode()).hexdigest()}  {n}\n" for n in names)
    )
    code, out = run(
        "artifacts",
        "import",
        str(download),
        "--os",
        "flatcar",
        "--version",
        "4081.2.0",
        "-f",
        str(applied),
    )
    assert code == 0, out
    assert (applied.parent / "artifacts/flatcar/4081.2.0" / names[0]).read_bytes() == names[
        0
    ].encode()
    code, out = run("apply", "-f", str(applied), "--url", "http://127.0.0.1:9")
    assert code == 2 and "flatcar_production_pxe.vmlinuz" not in out.split("artifacts missing")[1]


def test_off_a_terminal_no_line_is_wrapped(applied: Path) -> None:
    """Piped to a log or grep: a reason, a URL or a command stays whole on its line."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "strata.cli.app", "status", "-f", str(applied)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    reason = "fetched no Ignition config within 0.5 s of power-on (check its virtual media boot"
    assert any("lab-worker-1" in line and reason in line for line in done.stdout.splitlines())


def test_apply_builds_the_plan_once_for_the_whole_run(applied: Path) -> None:
    """The plan shown, the reconciler's, the boot service's and DHCP's are one object,
    built once under the lease (counted by the profiler, nothing patched)."""
    stand_ins_for(applied.parent / "artifacts", build_plan(load(applied)).nodes)
    port = free_port()
    profiler = cProfile.Profile()
    profiler.enable()
    url = f"http://127.0.0.1:{port}"
    target = ("--until", "provisioned")  # no Kubernetes artifacts in this mirror
    code, out = run(
        "apply", "-f", str(applied), "--listen", f"127.0.0.1:{port}", "--url", url, *target
    )
    profiler.disable()
    assert code in (0, 1) and "plan for lab" in out, out
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    builds = sum(
        calls[1]
        for (path, _, name), calls in stats.items()
        if name == "build_plan" and path.endswith("plan/build.py")
    )
    assert builds == 1


def test_apply_until_joined_refuses_when_a_layers_kubernetes_is_not_in_the_mirror(
    applied: Path,
) -> None:
    """To joined, the nodes also fetch their layer's Kubernetes: missing pieces are named
    before anything is powered on, and no cluster material is generated for a run that
    did not start."""
    before = SQLiteStore(applied.parent / ".strata" / "strata.db").records()
    args = ["apply", "-f", str(applied), "--url", "http://127.0.0.1:9", "--until", "joined"]
    code, out = run(*args)
    assert code == 2, out
    assert "artifacts missing for kubernetes v1.31.2 (for lab-worker-1)" in out, out
    assert "kubernetes-v1.31.2-x86-64.raw" in out
    assert "nothing was powered on" in out
    after = SQLiteStore(applied.parent / ".strata" / "strata.db")
    assert after.records() == before and after.cluster("mgmt") is None
