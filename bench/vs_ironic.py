"""Strata and OpenStack Ironic side by side, on this machine, in one run.

Ironic is installed from PyPI into its own virtual environment under the work
directory and runs standalone, as one all-in-one ``ironic`` process
(``rpc_transport = none``, ``auth_strategy = noauth``, SQLite, the API on
127.0.0.1, no DHCP provider), every interface ``fake`` (``fake-hardware``).
It is driven through its REST API: enroll -> manage -> provide -> active for N
nodes, retrying 409 (node locked) and 503, polling the states.

Strata runs the same N nodes through its own lifecycle (registering ->
inspecting -> ready -> provisioning -> booting -> installing -> provisioned)
against its in-process simulated fleet with zero latency and zero boot time,
in a process of its own, so both sides are measured the same way: wall time,
CPU-seconds of the system's processes per node, peak RSS, and the p99 of a
status read (Ironic: ``GET /v1/nodes``; Strata: what ``strata status -o json``
reads from the store) taken every 0.2 s while the nodes are in flight.

The two alternate (A B A B ...) and the medians are printed with the ratio.
What this measures is each controller's own cost: real servers take 5-10
minutes to POST and image distribution dominates a real deployment.

    python bench/vs_ironic.py [--nodes 100,1000] [--runs 3] [--workdir DIR]
    python bench/vs_ironic.py --strata-only --nodes 100,1000,5000

This first part covers the fake-hardware configuration; the Redfish
configuration (Ironic's ``redfish`` hardware type against sushy-tools) is the
next step.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds, free_port  # noqa: E402

IRONIC_VERSION = "39.0.0"
HEADERS = {"Content-Type": "application/json", "X-OpenStack-Ironic-API-Version": "latest"}
CONFIG = """\
[DEFAULT]
enabled_hardware_types = fake-hardware
enabled_boot_interfaces = fake
enabled_deploy_interfaces = fake
enabled_management_interfaces = fake
enabled_power_interfaces = fake
enabled_inspect_interfaces = fake,no-inspect
enabled_network_interfaces = noop
default_network_interface = noop
enabled_vendor_interfaces = fake,no-vendor
enabled_raid_interfaces = fake,no-raid
enabled_bios_interfaces = fake,no-bios
enabled_console_interfaces = fake,no-console
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = fake,noop
enabled_firmware_interfaces = fake,no-firmware
rpc_transport = none
auth_strategy = noauth
host = bench
[api]
host_ip = 127.0.0.1
port = {port}
[database]
connection = sqlite:///{db}
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = false
sync_power_state_interval = 10
[oslo_concurrency]
lock_path = {locks}
"""


# -- measuring a process -------------------------------------------------------


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (Ironic's launcher forks its API workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu(pid: int) -> float:
    """CPU-seconds of a process and its descendants, the reaped ones included."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def tree_rss_mib(pid: int) -> float:
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += peak_rss_mib(member)
    return total


class Sampler:
    """Calls ``read`` every 0.2 s on a thread and keeps the latencies."""

    def __init__(self, read: Any) -> None:
        self.read = read
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            start = time.perf_counter()
            with contextlib.suppress(Exception):  # a failed read counts at its time, too
                self.read()
            self.latencies.append(time.perf_counter() - start)

    def p99(self) -> float:
        self._stop.set()
        self._thread.join()
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return float(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])


# -- Ironic --------------------------------------------------------------------


def ironic_venv(work: Path) -> Path:
    venv = work / "ironic-venv"
    if not (venv / "bin" / "ironic").exists():
        print(f"installing ironic=={IRONIC_VERSION} into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, f"ironic=={IRONIC_VERSION}"], check=True)
    return venv


def api(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call, retried while Ironic says the node is locked (409) or it is busy (503),
    and when its API drops the connection under load."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=HEADERS)
    for _ in range(600):
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw = answer.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exc.code not in (409, 503):
                raise
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{method} {path}: no success after 600 tries")


def enroll(base: str, name: str) -> None:
    """Create a node; a retry after a dropped connection may find it created."""
    try:
        api(base, "GET", f"/v1/nodes/{name}")
        return
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    request = {"name": name, "driver": "fake-hardware"}
    body = json.dumps(request).encode()
    req = urllib.request.Request(base + "/v1/nodes", data=body, method="POST", headers=HEADERS)
    try:
        urllib.request.urlopen(req, timeout=120).read()
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
        time.sleep(0.2)
        enroll(base, name)


def _provision(name: str) -> str:
    return f"/v1/nodes/{name}/states/provision"


def ironic_states(base: str) -> dict[str, str]:
    states: dict[str, str] = {}
    marker = ""
    while True:  # pages of 1,000; the marker is the last node's UUID
        page = api(base, "GET", f"/v1/nodes?fields=uuid,name,provision_state&limit=1000{marker}")
        for node in page["nodes"]:
            states[node["name"]] = node["provision_state"]
        if len(page["nodes"]) < 1000:
            return states
        marker = f"&marker={page['nodes'][-1]['uuid']}"


def wait_for(base: str, target: str, count: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        states = ironic_states(base)
        if sum(1 for s in states.values() if s == target) == count:
            return
        failed = [n for n, s in states.items() if "fail" in s]
        if failed:
            raise RuntimeError(f"ironic: {len(failed)} nodes failed, e.g. {failed[0]}")
        time.sleep(0.5)
    raise RuntimeError(f"ironic: not every node reached {target} in time")


def run_ironic(venv: Path, n: int, work: Path) -> dict[str, float]:
    run = Path(tempfile.mkdtemp(dir=work, prefix="ironic-"))
    port = free_port()
    conf = run / "ironic.conf"
    conf.write_text(CONFIG.format(port=port, db=run / "ironic.sqlite", locks=run / "locks"))
    bin_ = venv / "bin"
    subprocess.run(
        [str(bin_ / "ironic-dbsync"), "--config-file", str(conf), "create_schema"],
        check=True,
        capture_output=True,
    )
    log = (run / "ironic.log").open("w")
    process = subprocess.Popen(
        [str(bin_ / "ironic"), "--config-file", str(conf)], stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                api(base, "GET", "/v1")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        cpu0, start = tree_cpu(process.pid), time.perf_counter()
        sampler = Sampler(lambda: api(base, "GET", "/v1/nodes?limit=1000"))
        names = [f"node-{i:05}" for i in range(n)]
        deadline = time.monotonic() + 3600
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda name: enroll(base, name), names))
            for target, state in (
                ("manage", "manageable"),
                ("provide", "available"),
                ("active", "active"),
            ):
                body = {"target": target}
                list(pool.map(lambda name, b=body: api(base, "PUT", _provision(name), b), names))
                wait_for(base, state, n, deadline)
        wall = time.perf_counter() - start
        cpu = tree_cpu(process.pid) - cpu0
        p99 = sampler.p99()
        idle0 = tree_cpu(process.pid)
        time.sleep(10)
        idle = (tree_cpu(process.pid) - idle0) / 10
        return {
            "wall": wall,
            "nodes_s": n / wall,
            "cpu_node": cpu / n,
            "rss": tree_rss_mib(process.pid),
            "p99": p99,
            "idle_cpu": idle,
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(run, ignore_errors=True)


# -- Strata --------------------------------------------------------------------

TOPOLOGY = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {{name: bench}}
defaults:
  layer: mgmt
  os: {{name: flatcar, version: "4081.2.0"}}
  bmc: {{credentials: c}}
  installDisk: /dev/vda
credentials: [{{name: c, username: admin, password: {{env: BENCH_PW}}}}]
networks:
  - {{name: bmc, purpose: bmc, cidr: 10.0.0.0/12}}
  - {{name: prov, purpose: provisioning, cidr: 172.16.0.0/12}}
layers:
  - name: mgmt
    distribution: {{name: kubeadm, version: "1.31.2"}}
    endpoint: {{vip: 172.31.255.1, network: prov}}
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
regions:
  - name: r
    zones:
      - name: z
        racks:
          - name: ctl
            nodes:
              - name: cp
                role: control-plane
                bmc: {{address: "redfish://10.15.255.1/redfish/v1/Systems/1"}}
                nics: [{{mac: "52:54:00:ff:ff:01", network: prov}}]
          - name: k1
            nodes:
              - name: n{{index}}
                generate: {{count: {workers}}}
                bmc: {{address: "redfish://{{ip:10.0.0.10}}/redfish/v1/Systems/1"}}
                nics: [{{mac: "{{mac:52:54:00:00:00:10}}", network: prov}}]
"""


def strata_child(n: int, state: Path) -> None:
    """In its own process: N nodes (a control plane and N-1 workers) through the lifecycle."""
    sys.path.insert(0, str(ROOT / "src"))
    from strata.controller import ApplyOptions, Reconciler, State
    from strata.lab.simulated import Fleet, FleetSettings
    from strata.store import SQLiteStore
    from strata.topology import check_text

    checked = check_text(TOPOLOGY.format(workers=n - 1), "bench.yaml")
    assert checked.topology is not None, [str(d) for d in checked.errors]
    store = SQLiteStore(state)
    zero = FleetSettings(latency=(0, 0), boot_seconds=(0, 0), install_seconds=(0, 0))
    fleet = Fleet(checked.topology, store, zero)
    summary = Reconciler(
        checked.topology, store, fleet, ApplyOptions(concurrency=16, poll_interval=0.05)
    ).run()
    fleet.close()
    done = sum(1 for s in summary.states.values() if s is State.PROVISIONED)
    print(
        json.dumps(
            {"nodes": len(summary.states), "provisioned": done, "rss": peak_rss_mib(os.getpid())}
        )
    )


def run_strata(n: int, work: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from strata.cli.status import status_json
    from strata.store import SQLiteStore

    state = Path(tempfile.mkdtemp(dir=work, prefix="strata-")) / "state.db"
    child = subprocess.Popen(
        [sys.executable, __file__, "--strata-child", str(n), "--state", str(state)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCH_PW": "unused"},
    )
    start = time.perf_counter()
    cpu = 0.0

    def status() -> None:
        if state.exists():
            status_json(SQLiteStore(state, read_only=True))  # as `strata status` opens it

    sampler = Sampler(status)
    while child.poll() is None:
        try:
            cpu = cpu_seconds(child.pid)
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    out, _ = child.communicate()
    wall = time.perf_counter() - start
    result = json.loads(out.strip().splitlines()[-1])
    assert result["provisioned"] == result["nodes"], result
    count = result["nodes"]
    shutil.rmtree(state.parent, ignore_errors=True)
    return {
        "wall": wall,
        "nodes_s": count / wall,
        "cpu_node": cpu / count,
        "rss": result["rss"],
        "p99": sampler.p99(),
        "idle_cpu": 0.0,
    }


# -- the comparison ------------------------------------------------------------

ROWS = (
    ("wall", "wall time", "{:.1f} s"),
    ("nodes_s", "nodes/s", "{:.1f}"),
    ("cpu_node", "CPU-seconds per node", "{:.4f}"),
    ("rss", "peak RSS", "{:.0f} MiB"),
    ("p99", "status read p99 in flight", "{:.1f} ms"),
    ("idle_cpu", "CPU at rest, all deployed", "{:.3f} cores"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="100,1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "strata-vs-ironic"
    )
    parser.add_argument(
        "--strata-only",
        action="store_true",
        help="only Strata, for each N: how its throughput holds as N grows (e.g. 100,1000,5000)",
    )
    parser.add_argument("--strata-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.strata_child:
        strata_child(args.strata_child, args.state)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.strata_only:
        strata_scaling([int(x) for x in args.nodes.split(",")], args.runs, args.workdir)
        return
    venv = ironic_venv(args.workdir)
    for n in (int(x) for x in args.nodes.split(",")):
        results: dict[str, list[dict[str, float]]] = {"ironic": [], "strata": []}
        for run in range(args.runs):  # A B A B: each pair shares the machine's mood
            print(f"N={n} run {run + 1}/{args.runs}: ironic ...", file=sys.stderr, flush=True)
            results["ironic"].append(run_ironic(venv, n, args.workdir))
            print(f"  ironic: {_brief(results['ironic'][-1])}", file=sys.stderr, flush=True)
            print(f"N={n} run {run + 1}/{args.runs}: strata ...", file=sys.stderr, flush=True)
            results["strata"].append(run_strata(n, args.workdir))
            print(f"  strata: {_brief(results['strata'][-1])}", file=sys.stderr, flush=True)
        print_table(n, args.runs, results)


def strata_scaling(sizes: list[int], runs: int, work: Path) -> None:
    print(f"\nStrata alone, fake hardware, medians of {runs} runs")
    print(
        f"{'N':>7} {'wall':>9} {'nodes/s':>9} {'CPU-s/node':>11} {'peak RSS':>10} {'status p99':>11}"
    )
    first = None
    for n in sizes:
        rows = [run_strata(n, work) for _ in range(runs)]
        m = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        first = first or m["nodes_s"]
        change = (m["nodes_s"] / first - 1) * 100
        print(
            f"{n:>7,} {m['wall']:>8.1f}s {m['nodes_s']:>9.1f} {m['cpu_node']:>11.4f} "
            f"{m['rss']:>7.0f} MiB {m['p99'] * 1000:>8.1f} ms  (nodes/s {change:+.0f} % vs N={sizes[0]:,})"
        )


def _brief(r: dict[str, float]) -> str:
    return f"{r['wall']:.1f} s, {r['nodes_s']:.1f} nodes/s, {r['cpu_node']:.4f} CPU-s/node"


def print_table(n: int, runs: int, results: dict[str, list[dict[str, float]]]) -> None:
    print(f"\nN = {n:,} nodes, fake hardware, medians of {runs} alternating runs")
    print(f"{'figure':<30} {'Ironic ' + IRONIC_VERSION:>16} {'Strata':>14} {'Strata/Ironic':>14}")
    for key, label, fmt in ROWS:
        ironic = statistics.median(r[key] for r in results["ironic"])
        strata = statistics.median(r[key] for r in results["strata"])
        scale = 1000 if key == "p99" else 1
        ratio = f"{strata / ironic:.3f}" if ironic else "-"
        print(
            f"{label:<30} {fmt.format(ironic * scale):>16} {fmt.format(strata * scale):>14} {ratio:>14}"
        )


if __name__ == "__main__":
    main()
