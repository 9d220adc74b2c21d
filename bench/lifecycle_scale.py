"""10,000 simulated nodes through the whole lifecycle, declared to provisioned and to
joined, side by side.

The topology is examples/hyperscale/topology.yaml (10,009 servers in three layers,
racks with a power budget of 10 simultaneous power-ons 2 s apart). Each BMC is
simulated in this process (strata.lab.simulated): every call takes a uniformly drawn
50-200 ms, and a machine powered on into a network boot reports ``ipxe-fetched`` and
``ignition-fetched`` after a simulated boot and ``installed`` after a simulated
install, into the same SQLite store the boot service would write. The reconciler runs
as ``strata apply`` runs it: one loop thread, a pool of worker threads for BMC calls,
the embedded store on disk.

To joined, each layer's cluster is simulated on the wire (tests/support/node_api.py):
one HTTPS API per layer on 127.0.0.1 (certificate signed by the layer's CA, kept in the
store as a run keeps it), and the layer's kubelets: an installed node's Node registers
NotReady half-way through the join delay and turns Ready at its end; the init node's
``kubeadm init`` brings its layer's API up first (connections are refused until then).
The watch is the real one (``strata.cli.joining.node_watcher``: one lightkube list and
watch per layer, pointed at the simulated API instead of the layer's VIP), writing
``api-answered``, ``node-registered`` and ``node-ready`` to the event log.

Prints, per run: nodes/s, CPU seconds per node (the whole process, simulated machines
and clusters included; the reconciler's own loop thread; the watch threads, one per
layer and the one writing their news; the simulated clusters' own threads), requests to
the API per node, events logged per node, peak RSS, the share of the wall time the
loop thread was busy, the load average at the run's end, the collector's passes, and
each thread group's CPU (bench/thread_cpu.py). ``--until both`` (the default) runs each
target in a fresh process, one after the other, and prints them side by side, with
what joins add: the run to joined's CPU per node, less the simulated clusters', less
the run to provisioned's. ``--repeat N`` runs N such pairs and prints each pair's
figure, then their median and spread and each thread group's median difference: one
pair is a difference between two processes minutes apart on shared cores.

    python bench/lifecycle_scale.py [--until both|provisioned|joined] [--file FILE]
        [--concurrency 512] [--latency 0.05,0.2] [--boot 5,10] [--install 5,10]
        [--join 5,10] [--ignore-budgets] [--repeat N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("provisioned", "joined")


def _pair(text: str) -> tuple[float, float]:
    low, high = (float(x) for x in text.split(","))
    return low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--until", choices=(*TARGETS, "both"), default="both")
    parser.add_argument("--file", default=str(ROOT / "examples/hyperscale/topology.yaml"))
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--latency", type=_pair, default=(0.05, 0.2))
    parser.add_argument("--boot", type=_pair, default=(5.0, 10.0))
    parser.add_argument("--install", type=_pair, default=(5.0, 10.0))
    parser.add_argument("--join", type=_pair, default=(5.0, 10.0), help="installed to Ready")
    parser.add_argument("--ignore-budgets", action="store_true", help="no rack power budgets")
    parser.add_argument("--json", action="store_true", help="one run's figures as JSON")
    parser.add_argument(
        "--repeat", type=int, default=1, help="with --until both: this many pairs, alternated"
    )
    args = parser.parse_args()
    if args.until != "both":
        figures = run(args)
        print(json.dumps(figures) if args.json else report(figures))
        if not figures["ok"]:
            sys.exit(f"not every node was {args.until}")
        return
    pairs = []
    for _ in range(args.repeat):  # each run in its own process: its CPU, memory, threads
        pairs.append([_child(target) for target in TARGETS])
        if args.repeat > 1:
            print(pair_line(len(pairs), pairs[-1]), flush=True)
    if args.repeat > 1:
        print(repeated(pairs))
        return
    for figures in pairs[0]:
        print(report(figures), end="\n\n")
    print(side_by_side(pairs[0]))


def _child(target: str) -> dict[str, Any]:
    """One run to ``target`` in a fresh process, with this run's other arguments."""
    argv, skip = [], False
    for a in sys.argv[1:]:
        if not skip and a not in ("--json",) and not a.startswith("--repeat"):
            argv.append(a)
        skip = a == "--repeat"
    command = [sys.executable, __file__, *argv, "--until", target, "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the run to {target} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.thread_cpu import CollectorClock, ThreadClocks, load_average
    from strata.boot.media import media_links
    from strata.controller import ApplyOptions, Reconciler, State, recorded
    from strata.lab.simulated import Fleet, FleetSettings
    from strata.plan import build_plan
    from strata.store import SQLiteStore
    from strata.topology import load

    topology = load(args.file)
    if args.ignore_budgets:
        racks = tuple(dataclasses.replace(r, power_budget=None) for r in topology.racks)
        topology = dataclasses.replace(topology, racks=racks)
    target = State(args.until)
    settings = FleetSettings(
        latency=args.latency, boot_seconds=args.boot, install_seconds=args.install
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "state.db")
        cluster = _Clusters(topology, store, args.join) if target is State.JOINED else None
        fleet = Fleet(topology, store, settings, cluster.installed if cluster else None)
        # the simulated fleet stands in for the boot service too: virtual media links are
        # signed as a real run signs them, for a service no machine reaches
        links = media_links("http://boot.invalid", store.token_key)
        options = ApplyOptions(concurrency=args.concurrency, target=target, media_url=links)
        clocks, collector = ThreadClocks(), CollectorClock()
        before = resource.getrusage(resource.RUSAGE_SELF)
        loop_cpu, wall = time.thread_time(), time.perf_counter()
        if cluster is not None:
            cluster.start()
        summary = Reconciler(build_plan(topology, *recorded(store)), store, fleet, options).run()
        threads, collected = clocks.read(), collector.stop()
        watch = cluster.stop() if cluster is not None else {}
        loop_cpu, wall = time.thread_time() - loop_cpu, time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
        fleet.close()
        events = len(store.events_since(0, limit=10**8))
        store.close()
    count = len(summary.states)
    done = Counter(s.value for s in summary.states.values())
    return {
        "until": args.until,
        "topology": Path(args.file).name,
        "nodes": count,
        "racks": len(topology.racks),
        "settings": {
            "latency": args.latency,
            "boot": args.boot,
            "install": args.install,
            "join": args.join,
            "concurrency": args.concurrency,
        },
        "result": dict(done),
        "ok": done.get(target.value, 0) == count,
        "wall": wall,
        "budget_bound": _budget_bound(topology),
        "process_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "loop_cpu": loop_cpu,
        "bmc_seconds": fleet.busy_seconds,
        "events": events,
        "peak_rss_mib": after.ru_maxrss / 1024,
        "threads": threads,
        "gc": collected,
        "load": load_average(),
        **watch,
    }


class _Clusters:
    """Each layer's simulated API and kubelets, and the real watch of Nodes on them."""

    def __init__(self, topology: Any, store: Any, join: tuple[float, float]) -> None:
        from strata.cli.joining import keep_materials, node_watcher
        from strata.kube.watch import NodeWatcher
        from strata.plan import build_plan
        from tests.support.node_api import Kubelets, NodeAPI

        plan = build_plan(topology)
        materials = keep_materials(plan, store)  # the layers' CAs, as a run keeps them
        real = node_watcher(plan, store, materials)
        self.apis = {w.layer: NodeAPI(w.layer, materials[w.layer].pki.ca) for w in real.layers}
        layers = [dataclasses.replace(w, server=self.apis[w.layer].url) for w in real.layers]
        self.watcher = NodeWatcher(layers, real.write, real.retry_seconds, real.batch_seconds)
        members = {n: (w.layer, pid) for w in layers for n, pid in w.nodes.items()}
        inits = {w.layer: w.init_node for w in layers}
        self.kubelets = Kubelets(self.apis, members, inits, join)
        self.installed = self.kubelets.installed

    def start(self) -> None:
        from bench.thread_cpu import thread_cpu

        self.watcher.start()
        names = {f"watch-{layer}" for layer in self.apis} | {"watch-log"}  # and its writer
        self._watch = [t.native_id for t in threading.enumerate() if t.name in names]
        self._kubelets_cpu = thread_cpu(self.kubelets.thread.native_id)

    def stop(self) -> dict[str, Any]:
        """The watch threads' CPU (read before they end), requests, then everything stops.
        The simulated APIs' CPU: their requests that ended (``cpu_seconds``) and, read
        from their threads' accounts at the same moment, what the streams still open and
        the servers' own threads spent (a stream's CPU is added to ``cpu_seconds`` only
        when it ends, after this)."""
        from bench.thread_cpu import thread_cpu

        watch_cpu = sum(thread_cpu(t) for t in self._watch)
        kubelets_cpu = thread_cpu(self.kubelets.thread.native_id) - self._kubelets_cpu
        serving = [
            t.native_id
            for t in threading.enumerate()
            if t.name.endswith("(process_request_thread)") or t.name.startswith("node-api-")
        ]
        api_cpu = sum(a.cpu_seconds for a in self.apis.values()) + sum(map(thread_cpu, serving))
        self.watcher.stop()
        self.kubelets.stop()
        for api in self.apis.values():
            api.close()
        return {
            "watch_threads": len(self._watch),
            "watch_cpu": watch_cpu,
            "cluster_cpu": kubelets_cpu + api_cpu,
            # as read before (after close: a stream's CPU only if it had ended by then)
            "cluster_cpu_at_close": kubelets_cpu + sum(a.cpu_seconds for a in self.apis.values()),
            "api_requests": sum(a.requests for a in self.apis.values()),
            "watch_requests": self.watcher.requests,
        }


def report(f: dict[str, Any]) -> str:
    count, s = f["nodes"], f["settings"]
    per_node = 1000 / count
    lines = [
        f"until           {f['until']}",
        f"topology        {f['topology']}: {count:,} nodes, {f['racks']} racks",
        f"simulated       BMC call {s['latency'][0] * 1000:.0f}-{s['latency'][1] * 1000:.0f} ms, boot {s['boot'][0]:g}-{s['boot'][1]:g} s, install {s['install'][0]:g}-{s['install'][1]:g} s, {s['concurrency']} BMC calls in flight"
        + (f", join {s['join'][0]:g}-{s['join'][1]:g} s" if f["until"] == "joined" else ""),
        f"result          {f['result']}",
        f"wall            {f['wall']:.1f} s (the slowest rack's power budget alone needs {f['budget_bound']:.0f} s)",
        f"nodes/s         {count / f['wall']:.1f}",
        f"CPU per node    {f['process_cpu'] * per_node:.2f} ms whole process, {f['loop_cpu'] * per_node:.2f} ms reconciler loop",
    ]
    if "watch_cpu" in f:
        lines += [
            f"  of which      {f['watch_cpu'] * per_node:.3f} ms the {f['watch_threads']} watch threads, {f['cluster_cpu'] * per_node:.3f} ms the simulated APIs and kubelets",
            f"API requests    {f['api_requests']} received ({f['watch_requests']} lists and watches sent), {f['api_requests'] / count:.4f} per node",
        ]
    lines += [
        f"loop busy       {f['loop_cpu'] / f['wall'] * 100:.1f} % of the wall time",
        f"BMC time        {f['bmc_seconds']:,.0f} s of simulated BMC calls",
        f"store           {f['events']:,} events logged, {f['events'] / count:.1f} per node",
        f"peak RSS        {f['peak_rss_mib']:.0f} MiB",
        f"load average    {' '.join(f'{x:.2f}' for x in f['load'])} at the end",
        "collector       "
        + ", ".join(
            f"generation {g}: {p:.0f} passes, {s * 1000:.0f} ms"
            for g, (p, s) in enumerate(zip(f["gc"]["passes"], f["gc"]["seconds"], strict=True))
        ),
        "threads' CPU    "
        + ", ".join(
            f"{name} {seconds * per_node:.3f}"
            for name, seconds in sorted(f["threads"].items(), key=lambda kv: -kv[1])
        )
        + " ms per node",
    ]
    return "\n".join(lines)


def side_by_side(rows: list[dict[str, Any]]) -> str:
    def cells(f: dict[str, Any]) -> list[str]:
        n = f["nodes"]
        watch = f"{f['watch_cpu'] / n * 1000:.3f} ms" if "watch_cpu" in f else "-"
        api = (
            f"{f['api_requests']} ({f['api_requests'] / n:.4f}/node)"
            if "api_requests" in f
            else "-"
        )
        return [
            f"to {f['until']}",
            f"{f['wall']:.1f} s",
            f"{n / f['wall']:.1f}",
            f"{f['process_cpu'] / n * 1000:.2f} ms",
            f"{f['loop_cpu'] / n * 1000:.2f} ms",
            watch,
            api,
            f"{f['events'] / n:.1f}",
            f"{f['peak_rss_mib']:.0f} MiB",
        ]

    head = [
        "run",
        "wall",
        "nodes/s",
        "CPU/node process",
        "CPU/node loop",
        "CPU/node watch",
        "API requests",
        "events/node",
        "peak RSS",
    ]
    table = [head, *(cells(f) for f in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    if len(rows) == 2 and "cluster_cpu" in rows[1]:
        base, joined = rows
        n = joined["nodes"]
        lines.append(
            f"joins add {joins_add(base, joined) * 1000:.3f} ms CPU per node (whole process, less the simulated clusters' {joined['cluster_cpu'] / n * 1000:.3f} ms); the watch threads {joined['watch_cpu'] / n * 1000:.3f} ms"
        )
    return "\n".join(lines)


CLUSTER_THREADS = ("kubelets", "api-requests", "node-api")  # the simulated clusters'


def joins_add(base: dict[str, Any], joined: dict[str, Any]) -> float:
    """Seconds of CPU per node a run to joined spends beyond a run to provisioned: the
    whole process, less the simulated clusters (their APIs and kubelets)."""
    added = joined["process_cpu"] - joined["cluster_cpu"] - base["process_cpu"]
    return float(added / joined["nodes"])


def pair_line(number: int, pair: list[dict[str, Any]]) -> str:
    base, joined = pair
    n, load = joined["nodes"], (base["load"][0], joined["load"][0])
    return (
        f"pair {number}: to provisioned {base['process_cpu'] / n * 1000:.2f} ms/node"
        f" ({base['wall']:.0f} s), to joined {joined['process_cpu'] / n * 1000:.2f} ms/node"
        f" ({joined['wall']:.0f} s; simulated clusters {joined['cluster_cpu'] / n * 1000:.3f} ms)"
        f", joins add {joins_add(base, joined) * 1000:.3f} ms;"
        f" load average {load[0]:.2f} / {load[1]:.2f} at the runs' ends"
    )


def repeated(pairs: list[list[dict[str, Any]]]) -> str:
    """The pairs' ``joins add``: median and spread, and where it goes (each thread
    group's joined minus provisioned, per node, median over the pairs)."""
    added = sorted(joins_add(*pair) * 1000 for pair in pairs)
    groups = sorted({g for pair in pairs for f in pair for g in f["threads"]})
    where = []
    for group in groups:
        if group in CLUSTER_THREADS:
            continue
        diffs = [
            (pair[1]["threads"].get(group, 0.0) - pair[0]["threads"].get(group, 0.0))
            / pair[1]["nodes"]
            * 1000
            for pair in pairs
        ]
        where.append(f"{group} {statistics.median(diffs):+.3f}")
    return (
        f"joins add {statistics.median(added):.3f} ms CPU per node (median of {len(pairs)}"
        f" pairs), {added[0]:.3f}-{added[-1]:.3f} ms; under 0.5 ms in"
        f" {sum(a < 0.5 for a in added)} of {len(added)}\n"
        f"by thread (joined - provisioned, median): {', '.join(where)} ms per node"
    )


def _budget_bound(topology: Any) -> float:
    """Power-on spacing alone: (nodes in the rack - 1) x stagger, for the slowest rack."""
    worst = 0.0
    for rack in topology.racks:
        if rack.power_budget is not None:
            worst = max(worst, (len(rack.nodes) - 1) * rack.power_budget.stagger_seconds)
    return worst


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # tests.support is beside bench/
    main()
