"""Strata and OpenStack Ironic side by side, on this machine, in one run.

Two configurations, each for every N:

- ``fake``: Ironic's ``fake-hardware`` (every interface fake) against Strata's
  lifecycle on its in-process simulated fleet with zero latency and zero boot
  time (``strata.lab.simulated``);
- ``redfish``: both against the same kind of hardware, sushy-tools' emulator
  (fake driver) holding N systems in a process of its own
  (``bench/redfish_fleet.py``). Ironic: ``redfish`` hardware type, ``ipxe``
  boot, ``ramdisk`` deploy, a port per node. Strata: ``strata apply`` itself,
  with its boot service; the machines behind the emulated BMCs fetch their
  iPXE script and Ignition config from it and post their phone-home.

How Ironic is run and driven: ``bench/ironic.py``. Each run starts from an
empty database (and, for Redfish, a fresh emulator). Figures per run: wall
time, nodes/s, CPU-seconds per node of the system's own processes (Ironic's
process tree; Strata's process plus the status reads this script makes for
it), peak RSS, the p99 of a status read taken every 0.2 s while the nodes are
in flight (Ironic: every node's provision state through ``GET /v1/nodes``;
Strata: what ``strata status -o json`` reads), and CPU and memory at rest with
all deployed over one power-sync interval (Ironic's default, 60 s;
``--power-sync``). The two alternate (A B A B ...) and the medians are
printed with the ratio Strata/Ironic.

What this measures is each controller's own cost: real servers take 5-10
minutes to POST and image distribution dominates a real deployment.

    python bench/vs_ironic.py [--config fake,redfish] [--nodes 100,1000] [--runs 3]
    python bench/vs_ironic.py --strata-only --nodes 100,1000,5000
    python bench/vs_ironic.py --report WORKDIR/results.jsonl   # the tables of kept runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench import ironic  # noqa: E402
from bench.measure import Sampler, at_rest, free_port  # noqa: E402
from bench.redfish_fleet import PASSWORD_ENV as FLEET_PASSWORD  # noqa: E402
from tests.support.fleet_topology import PASSWORD_ENV as TOPOLOGY_PASSWORD  # noqa: E402
from tests.support.fleet_topology import fleet_yaml  # noqa: E402
from tests.support.redfish_emulator import FakeSystem  # noqa: E402

Figures = dict[str, float]

# -- the hardware of the Redfish configuration ---------------------------------


class RedfishFleet:
    """``bench/redfish_fleet.py`` running: N emulated BMCs and their machines."""

    def __init__(self, n: int, password: str, boot_url: str | None = None) -> None:
        command = [
            sys.executable,
            str(ROOT / "bench" / "redfish_fleet.py"),
            "--systems",
            str(n),
        ]
        if boot_url:
            command += ["--boot-url", boot_url]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, FLEET_PASSWORD: password},
        )
        assert self.process.stdout is not None
        described = json.loads(self.process.stdout.readline())
        self.hardware = ironic.Hardware(
            described["bmc_url"],
            described["username"],
            password,
            [tuple(s) for s in described["systems"]],
            described["images_url"],
        )

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


# -- Strata --------------------------------------------------------------------


STRATA = [sys.executable, "-c", "from strata.cli.app import main; main()"]


def strata_child(run: Path) -> None:
    """In its own process: RUN/topology.yaml's nodes through the lifecycle on the
    zero-latency simulated fleet, recorded in RUN/db."""
    from strata.controller import ApplyOptions, Reconciler, State, recorded
    from strata.lab.simulated import Fleet, FleetSettings
    from strata.plan import build_plan
    from strata.store import SQLiteStore
    from strata.topology import load

    topology = load(run / "topology.yaml")
    store = SQLiteStore(run / "db")
    zero = FleetSettings(latency=(0, 0), boot_seconds=(0, 0), install_seconds=(0, 0))
    fleet = Fleet(topology, store, zero)
    options = ApplyOptions(concurrency=16, poll_interval=0.05)
    summary = Reconciler(build_plan(topology, *recorded(store)), store, fleet, options).run()
    fleet.close()
    sys.exit(0 if all(s is State.PROVISIONED for s in summary.states.values()) else 1)


def _strata_process(
    command: list[str], run: Path, n: int, env: dict[str, str], rest: int
) -> Figures:
    """Run one Strata process to its end, reading its status every 0.2 s meanwhile.
    Its CPU and peak RSS come from the kernel when it is reaped (wait4). Then what
    stays of Strata with every node deployed, ``strata serve`` on the same state."""
    from strata.cli.status import status_json
    from strata.store import SQLiteStore

    state = run / "db"

    def status() -> None:
        if state.exists():
            status_json(SQLiteStore(state, read_only=True))  # as `strata status` opens it

    start = time.perf_counter()
    with (run / "strata.log").open("w") as log:  # the child keeps its own descriptor
        child = subprocess.Popen(command, stdout=log, stderr=log, env={**os.environ, **env})
    sampler = Sampler(status)
    _, code, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(code)
    wall = time.perf_counter() - start
    p99 = sampler.stop()
    nodes = status_json(SQLiteStore(state, read_only=True))["nodes"]
    done = sum(1 for node in nodes.values() if node["state"] == "provisioned")
    if child.returncode != 0 or done != n:
        tail = (run / "strata.log").read_text()[-2000:]
        raise RuntimeError(f"strata: {done} of {n} provisioned, exit {child.returncode}\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime + sampler.cpu
    idle, resident = _serving_at_rest(run, env, rest)
    return {
        "wall": wall,
        "nodes_s": n / wall,
        "cpu_node": cpu / n,
        "rss": usage.ru_maxrss / 1024,
        "p99": p99,
        "idle_cpu": idle,
        "idle_rss": resident,
    }


def _serving_at_rest(run: Path, env: dict[str, str], rest: int) -> tuple[float, float]:
    """``strata serve`` (the boot service, the one part that stays up in bootstrap mode;
    Strata has no periodic power sync) over one of Ironic's power-sync intervals."""
    port = free_port()
    command = [*STRATA, "serve", "-f", str(run / "topology.yaml"), "--state", str(run / "db")]
    command += ["--artifacts", str(run / "art"), "--listen", f"127.0.0.1:{port}"]
    command += ["--url", f"http://127.0.0.1:{port}"]  # the simulated machines are on this host
    with (run / "serve.log").open("w") as log:
        serving = subprocess.Popen(command, stdout=log, stderr=log, env={**os.environ, **env})
    try:
        for _ in range(300):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), 1),
            ):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("strata serve did not listen: " + (run / "serve.log").read_text())
        time.sleep(1)  # past its start-up
        return at_rest(serving.pid, rest)
    finally:
        serving.terminate()
        serving.wait(10)


def _strata_run(work: Path) -> Path:
    run = Path(tempfile.mkdtemp(dir=work, prefix="strata-"))
    (run / "art").mkdir()
    return run


def run_strata_fake(n: int, work: Path, rest: int) -> Figures:
    from strata.lab.generated import generated_text

    run = _strata_run(work)
    try:
        (run / "topology.yaml").write_text(generated_text(1, n - 1, name="bench"))
        command = [sys.executable, __file__, "--strata-child", str(run)]
        return _strata_process(command, run, n, {"PW": "unused"}, rest)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def run_strata_redfish(n: int, work: Path, rest: int) -> Figures:
    """``strata apply`` on N emulated BMCs, serving the machines' boot itself."""
    from strata.lab.image import stand_ins_for
    from strata.plan import build_plan
    from strata.topology import load

    run = _strata_run(work)
    password = "pw-" + secrets.token_hex(8)
    port = free_port()
    fleet = RedfishFleet(n, password, boot_url=f"http://127.0.0.1:{port}")
    try:
        systems = [FakeSystem(*s) for s in fleet.hardware.systems]
        bmc_url = fleet.hardware.bmc_url.replace("http://", "redfish+http://")
        topology = run / "topology.yaml"
        topology.write_text(fleet_yaml(bmc_url, systems, name="bench", per_rack=40, budget=None))
        stand_ins_for(run / "art", build_plan(load(topology)).nodes)  # what the machines "fetch"
        command = [*STRATA, "apply", "-f", str(topology), "--state", str(run / "db")]
        command += ["--until", "provisioned"]  # Ironic's end: deployed, active (no Kubernetes)
        command += [
            "--artifacts",
            str(run / "art"),
            "--listen",
            f"127.0.0.1:{port}",
            "--url",  # the simulated machines are on this host
            f"http://127.0.0.1:{port}",
            "-o",
            "json",
        ]
        return _strata_process(command, run, n, {TOPOLOGY_PASSWORD: password}, rest)
    finally:
        fleet.close()
        shutil.rmtree(run, ignore_errors=True)


# -- Ironic --------------------------------------------------------------------


def run_ironic(venv: Path, work: Path, n: int, config: str, power_sync: int) -> Figures:
    if config == "fake":
        return ironic.run(venv, work, n, None, power_sync)
    fleet = RedfishFleet(n, "pw-" + secrets.token_hex(8))
    try:
        return ironic.run(venv, work, n, fleet.hardware, power_sync)
    finally:
        fleet.close()


# -- the comparison ------------------------------------------------------------

ROWS = (
    ("wall", "wall time", "{:.1f} s"),
    ("nodes_s", "nodes/s", "{:.1f}"),
    ("cpu_node", "CPU-seconds per node", "{:.4f}"),
    ("rss", "peak RSS", "{:.0f} MiB"),
    ("p99", "status read p99 in flight", "{:.1f} ms"),
    ("idle_cpu", "CPU at rest, all deployed", "{:.3f} cores"),
    ("idle_rss", "memory at rest", "{:.0f} MiB"),
)
SIDES: dict[str, Callable[[int, Path, int], Figures]] = {
    "fake": run_strata_fake,
    "redfish": run_strata_redfish,
}


def compare(venv: Path, work: Path, config: str, n: int, runs: int, power_sync: int) -> None:
    results: dict[str, list[Figures]] = {"ironic": [], "strata": []}
    for run in range(runs):  # A B A B: each pair shares the machine's mood
        for side in ("ironic", "strata"):
            print(
                f"{config} N={n} run {run + 1}/{runs}: {side} ...",
                file=sys.stderr,
                flush=True,
            )
            if side == "ironic":
                figures = run_ironic(venv, work, n, config, power_sync)
            else:
                figures = SIDES[config](n, work, power_sync)
            results[side].append(figures)
            print(f"  {side}: {_brief(figures)}", file=sys.stderr, flush=True)
            with (work / "results.jsonl").open("a") as kept:  # each run, as it ends
                line = {
                    "config": config,
                    "n": n,
                    "side": side,
                    "run": run + 1,
                    **figures,
                }
                kept.write(json.dumps(line) + "\n")
    print_table(config, n, runs, results)


def strata_scaling(config: str, sizes: list[int], runs: int, work: Path, rest: int) -> None:
    print(f"\nStrata alone, {config}, medians of {runs} runs")
    print(f"{'N':>7} {'wall':>9} {'nodes/s':>9} {'CPU-s/node':>11} {'peak RSS':>10} {'p99':>11}")
    first = None
    for n in sizes:
        rows = [SIDES[config](n, work, rest) for _ in range(runs)]
        m = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        first = first or m["nodes_s"]
        change = (m["nodes_s"] / first - 1) * 100
        print(
            f"{n:>7,} {m['wall']:>8.1f}s {m['nodes_s']:>9.1f} {m['cpu_node']:>11.4f} "
            f"{m['rss']:>7.0f} MiB {m['p99'] * 1000:>8.1f} ms"
            f"  (nodes/s {change:+.0f} % vs N={sizes[0]:,})"
        )


def _brief(r: Figures) -> str:
    return (
        f"{r['wall']:.1f} s, {r['nodes_s']:.1f} nodes/s, {r['cpu_node']:.4f} CPU-s/node, "
        f"{r['rss']:.0f} MiB, p99 {r['p99'] * 1000:.0f} ms, "
        f"at rest {r['idle_cpu']:.3f} cores and {r['idle_rss']:.0f} MiB"
        + (f", {r['retried']:.0f} failed nodes asked again" if r.get("retried") else "")
    )


def print_table(config: str, n: int, runs: int, results: dict[str, list[Figures]]) -> None:
    print(f"\n{config}, N = {n:,} nodes, medians of {runs} alternating runs")
    print(f"{'figure':<30} {'Ironic ' + ironic.VERSION:>16} {'Strata':>14} {'Strata/Ironic':>14}")
    for key, label, fmt in ROWS:
        theirs = statistics.median(r[key] for r in results["ironic"])
        ours = statistics.median(r[key] for r in results["strata"])
        scale = 1000 if key == "p99" else 1
        ratio = f"{ours / theirs:.3f}" if theirs else "-"
        print(
            f"{label:<30} {fmt.format(theirs * scale):>16} {fmt.format(ours * scale):>14} {ratio:>14}"
        )
    sys.stdout.flush()


def report(kept: Path) -> None:
    """The tables of the runs in a results file, by configuration and N."""
    groups: dict[tuple[str, int], dict[str, list[Figures]]] = {}
    for line in kept.read_text().splitlines():
        run = json.loads(line)
        sides = groups.setdefault((run["config"], run["n"]), {"ironic": [], "strata": []})
        sides[run["side"]].append({key: run[key] for key, _, _ in ROWS})
    for (config, n), sides in sorted(groups.items()):
        runs = min(len(sides["ironic"]), len(sides["strata"]))
        if runs:
            print_table(config, n, runs, {side: rows[:runs] for side, rows in sides.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="fake,redfish", help="fake, redfish or both")
    parser.add_argument("--nodes", default="100,1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--power-sync",
        type=int,
        default=ironic.POWER_SYNC,
        metavar="SECONDS",
        help="Ironic's power-sync interval; CPU and memory at rest are taken over one",
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "strata-vs-ironic"
    )
    parser.add_argument(
        "--strata-only",
        action="store_true",
        help="only Strata, for each N: how its throughput holds as N grows",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="RESULTS",
        help="print the tables of a results.jsonl (runs kept from earlier, maybe interrupted, runs)",
    )
    parser.add_argument("--strata-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.strata_child:
        strata_child(args.strata_child)
        return
    if args.report:
        report(args.report)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in args.nodes.split(",")]
    if args.strata_only:
        for config in args.config.split(","):
            strata_scaling(config, sizes, args.runs, args.workdir, args.power_sync)
        return
    venv = ironic.install(args.workdir)
    for config in args.config.split(","):
        for n in sizes:
            compare(venv, args.workdir, config, n, args.runs, args.power_sync)


if __name__ == "__main__":
    main()
