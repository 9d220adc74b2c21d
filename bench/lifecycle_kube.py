"""The lifecycle to provisioned with the Kubernetes store on a real API server: the run
of bench/lifecycle_scale.py (simulated BMCs and machines, the reconciler as ``strata
apply`` runs it) with its records, log and lease in Server objects and ConfigMaps of a
real kube-apiserver + etcd that the benchmark starts (``strata.lab.control_plane``, the
binaries of ``KUBEBUILDER_ASSETS``, the Server CRD of ``strata.store.server_crd``).

The machines' side stands in for the boot service as it writes to the store
(``BootSide``): the iPXE fetch logged; the live Ignition config's single-use token
consumed, then logged; the final config's token consumed and logged, then
``installed`` (four log entries and two tokens per server, the attempt read at each of
the three boot requests, the entries batched as the service's journal batches them),
through the controller's store, as ``strata controller`` shares it with its boot
service.

Prints: nodes, wall, nodes/s; CPU per node in Strata (this process: the reconciler,
the simulated fleet, the store's clients) and, apart, in the API server, etcd and the
controller manager (from /proc, over the run only); API requests per node (reads,
writes, Events; writes and reads by resource); the etcd database's size at the end
(``member/snap/db``); peak RSS of this process and of the API server and etcd; the
machine (cores, the CPU a reference loop takes before the run: how fast the cores are
that day, load averages) and the nodes/s its cores allow at the run's CPU per node.
``--sqlite`` runs the same on the embedded SQLite store; ``--both`` runs each in a
process of its own and prints them side by side.

    python bench/lifecycle_kube.py [--file FILE] [--sqlite | --both] [--concurrency 512]
        [--latency 0.05,0.2] [--boot 5,10] [--install 5,10] [--ignore-budgets] [--json]
        [--etcd-attempts]

The attempt reads come from the API server's watch cache, as ``strata controller``'s
(``KubeStore(cached_attempts=True)``); ``--etcd-attempts``: from etcd (the store's
default).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "strata-bench"
PLANE = ("kube-apiserver", "etcd", "kube-controller-manager")
TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    from bench.lifecycle_scale import _pair

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default=str(ROOT / "examples/hyperscale/topology.yaml"))
    parser.add_argument("--sqlite", action="store_true", help="the embedded SQLite store")
    parser.add_argument("--both", action="store_true", help="each store, side by side")
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--latency", type=_pair, default=(0.05, 0.2))
    parser.add_argument("--boot", type=_pair, default=(5.0, 10.0))
    parser.add_argument("--install", type=_pair, default=(5.0, 10.0))
    parser.add_argument("--ignore-budgets", action="store_true", help="no rack power budgets")
    parser.add_argument("--json", action="store_true", help="one run's figures as JSON")
    parser.add_argument(
        "--etcd-attempts",
        action="store_true",
        help="attempt reads from etcd, not the API server's watch cache",
    )
    parser.add_argument(
        "--apiserver-arg",
        action="append",
        default=[],
        metavar="FLAG=VALUE",
        help="a kube-apiserver flag, e.g. watch-cache-sizes=servers.strata.dev#20000",
    )
    args = parser.parse_args()
    if not args.both:
        figures = run(args)
        print(json.dumps(figures) if args.json else report(figures))
        if not figures["ok"]:
            sys.exit("not every node was provisioned")
        return
    rows = []
    for extra in ([], ["--sqlite"]):  # each in its own process: its own CPU and memory
        argv = [a for a in sys.argv[1:] if a not in ("--json", "--both", "--sqlite")]
        command = [sys.executable, __file__, *argv, *extra, "--json"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the run {' '.join(extra) or 'on Kubernetes'} failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for figures in rows:
        print(report(figures), end="\n\n")
    print(side_by_side(rows))


class BootSide:
    """What the simulated machines write, as the boot service writes it: the attempt read
    at each iPXE and Ignition request, the single-use token consumed before a config is
    served, the final config's fetch logged apart; the log entries batched as its
    journal batches them (``strata.boot.journal``: those recorded while a write is in
    flight or within ``linger`` seconds of the first go in the next one — ``strata
    controller`` lingers ``JOURNAL_LINGER``), written by a thread of their own."""

    def __init__(self, store: Any, linger: float = 0.0) -> None:
        self.store, self.linger = store, linger
        self._queued: list[tuple[str, str, Mapping[str, object]]] = []
        self._stop = False
        self._wake = threading.Condition()
        self._writer = threading.Thread(target=self._write, name="boot-journal", daemon=True)
        self._writer.start()

    def attempt(self, node: str) -> Any:
        return self.store.attempt(node)

    def record(self, node: str, kind: str, detail: Mapping[str, object]) -> None:
        from strata.provisioning import LogKind, Stage

        number = int(str(detail.get("attempt", 0)))
        entries = [(node, kind, detail)]
        if kind == LogKind.IPXE_FETCHED:
            self.store.attempt(node)
        elif kind == LogKind.IGNITION_FETCHED:
            self.store.attempt(node)
            self.store.consume(node, number, Stage.LIVE)
            entries = [(node, kind, {**detail, "stage": "live"})]
        elif kind == LogKind.INSTALLED:
            self.store.attempt(node)
            self.store.consume(node, number, Stage.FINAL)
            final = {"stage": "final", "attempt": number}
            entries.insert(0, (node, LogKind.IGNITION_FETCHED, final))
        with self._wake:
            self._queued += entries
            self._wake.notify()

    def _write(self) -> None:
        while True:
            with self._wake:
                while not self._queued and not self._stop:
                    self._wake.wait()
            if self.linger and not self._stop:
                time.sleep(self.linger)
            with self._wake:
                batch, self._queued = self._queued, []
            if batch:
                self.store.record_many(batch)
            elif self._stop:
                return

    def close(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._writer.join()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.thread_cpu import load_average, reference_loop
    from strata.boot.media import media_links
    from strata.cli.controller_cmd import JOURNAL_LINGER
    from strata.controller import ApplyOptions, Reconciler, State, recorded
    from strata.lab.simulated import Fleet, FleetSettings
    from strata.plan import build_plan
    from strata.store import KubeStore, SQLiteStore
    from strata.topology import load

    reference, load_before = reference_loop(), load_average()  # before the run: the machine
    topology = load(args.file)
    if args.ignore_budgets:
        racks = tuple(dataclasses.replace(r, power_budget=None) for r in topology.racks)
        topology = dataclasses.replace(topology, racks=racks)
    settings = FleetSettings(
        latency=args.latency, boot_seconds=args.boot, install_seconds=args.install
    )
    kube: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plane = None if args.sqlite else _start_plane(Path(tmp), args.apiserver_arg)
        try:
            store: Any
            boot: Any
            if plane is None:
                store = boot = SQLiteStore(Path(tmp) / "state.db")
            else:
                store = boot = KubeStore.from_kubeconfig(
                    _kubeconfig(plane), NAMESPACE, "bench", cached_attempts=not args.etcd_attempts
                )
            side = BootSide(boot, 0.0 if args.sqlite else JOURNAL_LINGER)
            fleet = Fleet(topology, side, settings)  # type: ignore[arg-type]
            # virtual media links signed as a real run signs them (lab-worker-1's, say)
            links = media_links("http://boot.invalid", store.token_key)
            options = ApplyOptions(
                concurrency=args.concurrency, target=State.PROVISIONED, media_url=links
            )
            plane_before, served_before = _plane_cpu(plane), _served(plane)
            before = resource.getrusage(resource.RUSAGE_SELF)
            loop_cpu, wall = time.thread_time(), time.perf_counter()
            plan = build_plan(topology, *recorded(store))
            summary = Reconciler(plan, store, fleet, options).run()
            loop_cpu, wall = time.thread_time() - loop_cpu, time.perf_counter() - wall
            after = resource.getrusage(resource.RUSAGE_SELF)
            plane_after, served_after = _plane_cpu(plane), _served(plane)
            fleet.close()
            side.close()
            if plane is not None:
                kube = _kube_figures(plane, [store, boot], plane_before, plane_after)
                kube["served"] = dict(served_after - served_before)
            events = len(store.events_since(0, limit=10**8))
            store.close()
            if boot is not store:
                boot.close()
        finally:
            if plane is not None:
                plane.stop()
    count = len(summary.states)
    done = Counter(s.value for s in summary.states.values())
    return {
        "store": "sqlite" if args.sqlite else "kubernetes",
        "attempt_reads": "etcd" if args.etcd_attempts else "watch cache",
        "topology": Path(args.file).name,
        "nodes": count,
        "racks": len(topology.racks),
        "settings": {
            "latency": args.latency,
            "boot": args.boot,
            "install": args.install,
            "concurrency": args.concurrency,
        },
        "result": dict(done),
        "ok": done.get("provisioned", 0) == count,
        "wall": wall,
        "process_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "loop_cpu": loop_cpu,
        "events": events,
        "peak_rss_mib": after.ru_maxrss / 1024,
        "cores": len(os.sched_getaffinity(0)),  # the cores this process may run on
        "reference_loop": reference,
        "load": [load_before[0], load_average()[0]],
        **kube,
    }


def _start_plane(directory: Path, apiserver_args: list[str] | None = None) -> Any:
    """etcd + kube-apiserver (with ``apiserver_args``, each ``flag=value``) +
    kube-controller-manager, the Server CRD Established and the benchmark's namespace
    made."""
    from strata.kube.pki import generate_pki
    from strata.lab.control_plane import ControlPlaneSpec, start_control_plane
    from strata.store import server_crd

    if not os.environ.get("KUBEBUILDER_ASSETS"):  # ./dev bench lifecycle_kube sets it
        default = Path.home() / ".cache/strata/kube-assets/1.20.2"
        os.environ["KUBEBUILDER_ASSETS"] = str(default)  # where scripts/kube-assets.sh puts them
    pki = generate_pki(datetime.datetime.now(datetime.UTC))
    extra = {"apiServer": dict(a.split("=", 1) for a in apiserver_args or [])}
    plane = start_control_plane(ControlPlaneSpec(directory / "plane", pki, extra_args=extra))
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    with plane.client() as api:
        api.post(crds, json=server_crd()).raise_for_status()
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        api.post("/api/v1/namespaces", json=body).raise_for_status()
        for _ in range(600):
            crd = api.get(f"{crds}/servers.strata.dev").json()
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            time.sleep(0.1)
    return plane


def _kubeconfig(plane: Any) -> Path:
    """The admin's kubeconfig: the store's client made as ``strata controller`` makes it."""
    from strata.kube.kubeconfig import admin_kubeconfig

    path: Path = plane.directory / "admin.kubeconfig"
    text = admin_kubeconfig(plane.url, plane.pki.ca.cert_pem, *_admin(plane))
    path.write_text(text)
    path.chmod(0o600)
    return path


def _admin(plane: Any) -> tuple[str, str]:
    return plane.admin.cert_pem, plane.admin.key_pem


def _plane_cpu(plane: Any) -> dict[str, float]:
    """CPU seconds (user + system) each control-plane process has used so far
    (proc(5): /proc/PID/stat fields 14 and 15)."""
    if plane is None:
        return {}
    used = {}
    for process in plane.processes:
        fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[process.name] = (int(fields[11]) + int(fields[12])) / TICKS
    return used


def _served(plane: Any) -> Counter[str]:
    """Requests the API server has served, from every client (Strata's, the controller
    manager's, its own), by verb and resource: ``apiserver_request_total`` of its
    /metrics (Prometheus text format)."""
    served: Counter[str] = Counter()
    if plane is None:
        return served
    with plane.client() as api:
        text = api.get("/metrics").text
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            served[f"{labels.get('verb')} {labels.get('resource')}"] += int(float(line.split()[-1]))
    return served


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _kube_figures(
    plane: Any, stores: list[Any], before: dict[str, float], after: dict[str, float]
) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    by_resource: Counter[str] = Counter()
    for store in {id(s): s for s in stores}.values():
        counts += store.requests.counts
        by_resource += store.requests.by_resource
    db = plane.directory / "etcd" / "member" / "snap" / "db"
    return {
        "reads": counts["read"],
        "writes": counts["write"],
        "kube_events": counts["event"],
        "by_resource": dict(by_resource),
        "plane_cpu": {name: after[name] - before[name] for name in after},
        "plane_rss_mib": {p.name: _peak_rss_mib(p.popen.pid) for p in plane.processes},
        "etcd_db_mib": db.stat().st_size / 2**20,
    }


def report(f: dict[str, Any]) -> str:
    count, s = f["nodes"], f["settings"]
    per_node = 1000 / count
    lines = [
        f"store           {f['store']}"
        + (f" (attempt reads: {f['attempt_reads']})" if f["store"] == "kubernetes" else ""),
        f"topology        {f['topology']}: {count:,} nodes, {f['racks']} racks",
        f"simulated       BMC call {s['latency'][0] * 1000:.0f}-{s['latency'][1] * 1000:.0f} ms, boot {s['boot'][0]:g}-{s['boot'][1]:g} s, install {s['install'][0]:g}-{s['install'][1]:g} s, {s['concurrency']} BMC calls in flight",
        f"result          {f['result']}",
        f"wall            {f['wall']:.1f} s",
        f"nodes/s         {count / f['wall']:.1f}",
        f"CPU per node    {f['process_cpu'] * per_node:.2f} ms Strata (this process), {f['loop_cpu'] * per_node:.2f} ms its reconciler loop",
    ]
    if "plane_cpu" in f:
        plane = ", ".join(f"{n} {c * per_node:.2f} ms" for n, c in f["plane_cpu"].items())
        rss = ", ".join(f"{n} {m:.0f} MiB" for n, m in f["plane_rss_mib"].items())
        lines += [
            f"  control plane {plane}",
            f"API requests    per node: {f['reads'] / count:.2f} reads, {f['writes'] / count:.2f} writes, {f['kube_events'] / count:.2f} Events",
            "  writes        " + _per_node(f["by_resource"], count, writes=True),
            "  reads         " + _per_node(f["by_resource"], count, writes=False),
            "  served        " + _served_line(f.get("served", {}), count),
            f"etcd            {f['etcd_db_mib']:.1f} MiB database (member/snap/db) at the end",
            f"peak RSS        {f['peak_rss_mib']:.0f} MiB Strata; {rss}",
        ]
    else:
        lines.append(f"peak RSS        {f['peak_rss_mib']:.0f} MiB")
    lines.append(f"store           {f['events']:,} log entries, {f['events'] / count:.1f} per node")
    return "\n".join([*lines, *_machine_lines(f)])


def _machine_lines(f: dict[str, Any]) -> list[str]:
    """The machine the figures are of, and the nodes/s its cores allow at this run's CPU
    per node (every process here: Strata and the control plane it shares them with);
    Strata's share alone on one core (one process: the GIL) and on every core (its
    shards split between replicas)."""
    from bench.thread_cpu import REFERENCE_ADDITIONS

    count, cores = f["nodes"], f["cores"]
    strata = f["process_cpu"] / count
    every = strata + sum(f.get("plane_cpu", {}).values()) / count
    return [
        f"machine         {cores} cores; a reference loop ({REFERENCE_ADDITIONS:,} CPython additions) "
        f"{f['reference_loop']:.2f} s of CPU; load average {f['load'][0]:.2f} before, "
        f"{f['load'][1]:.2f} after",
        f"bound           {every * 1000:.1f} ms of CPU per node in all: {cores / every:.1f} "
        f"nodes/s had this run's processes the {cores} cores to themselves; Strata's "
        f"{strata * 1000:.1f} ms alone: {1 / strata:.1f} on one core (one process), "
        f"{cores / strata:.1f} on {cores} (replicas, each its shards)",
    ]


def _per_node(by_resource: dict[str, int], count: int, writes: bool) -> str:
    chosen = [
        (k, v)
        for k, v in sorted(by_resource.items(), key=lambda kv: -kv[1])
        if k.startswith("GET") != writes and not k.endswith(" events")
    ]
    return ", ".join(f"{k} {v / count:.2f}" for k, v in chosen)


def _served_line(served: dict[str, int], count: int) -> str:
    """The API server's own tally, every client: the busiest verb/resource pairs."""
    top = sorted(served.items(), key=lambda kv: -kv[1])[:8]
    total = sum(served.values())
    return f"{total / count:.2f} per node by all clients: " + ", ".join(
        f"{k} {v / count:.2f}" for k, v in top
    )


def side_by_side(rows: list[dict[str, Any]]) -> str:
    head = ["store", "wall", "nodes/s", "CPU/node Strata", "CPU/node plane", "writes/node"]
    head += ["reads/node", "etcd db", "peak RSS"]
    table = [head]
    for f in rows:
        n = f["nodes"]
        plane = sum(f["plane_cpu"].values()) / n * 1000 if "plane_cpu" in f else None
        table.append(
            [
                f["store"],
                f"{f['wall']:.1f} s",
                f"{n / f['wall']:.1f}",
                f"{f['process_cpu'] / n * 1000:.2f} ms",
                f"{plane:.2f} ms" if plane is not None else "-",
                f"{f['writes'] / n:.2f}" if "writes" in f else "-",
                f"{f['reads'] / n:.2f}" if "reads" in f else "-",
                f"{f['etcd_db_mib']:.1f} MiB" if "etcd_db_mib" in f else "-",
                f"{f['peak_rss_mib']:.0f} MiB",
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table)


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    main()
