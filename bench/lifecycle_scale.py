"""10,000 simulated nodes through the whole lifecycle, declared to provisioned.

The topology is examples/hyperscale/topology.yaml (10,009 servers, racks with a
power budget of 10 simultaneous power-ons 2 s apart). Each BMC is simulated in
this process (strata.lab.simulated): every call takes a uniformly drawn 50-200 ms,
and a machine powered on into a network boot reports ``ipxe-fetched`` and
``ignition-fetched`` after a simulated boot and ``installed`` after a simulated
install, into the same SQLite store the boot service would write. The
reconciler runs as ``strata apply`` runs it: one loop thread, a pool of worker
threads for BMC calls, the embedded store on disk.

Prints nodes/s, controller CPU seconds per node (the whole process, simulated
machines included, and the reconciler's own loop thread), peak RSS, and the
share of the wall time the loop thread was busy: how far it is from being the
bottleneck.

    python bench/lifecycle_scale.py [--file FILE] [--concurrency 512]
        [--latency 0.05,0.2] [--boot 5,10] [--install 5,10] [--ignore-budgets]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pair(text: str) -> tuple[float, float]:
    low, high = (float(x) for x in text.split(","))
    return low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default=str(ROOT / "examples/hyperscale/topology.yaml"))
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--latency", type=_pair, default=(0.05, 0.2))
    parser.add_argument("--boot", type=_pair, default=(5.0, 10.0))
    parser.add_argument("--install", type=_pair, default=(5.0, 10.0))
    parser.add_argument("--ignore-budgets", action="store_true", help="no rack power budgets")
    args = parser.parse_args()

    from strata.controller import ApplyOptions, Reconciler, State, recorded
    from strata.lab.simulated import Fleet, FleetSettings
    from strata.plan import build_plan
    from strata.store import SQLiteStore
    from strata.topology import load

    topology = load(args.file)
    if args.ignore_budgets:
        racks = tuple(dataclasses.replace(r, power_budget=None) for r in topology.racks)
        topology = dataclasses.replace(topology, racks=racks)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "state.db")
        settings = FleetSettings(
            latency=args.latency, boot_seconds=args.boot, install_seconds=args.install
        )
        fleet = Fleet(topology, store, settings)
        options = ApplyOptions(concurrency=args.concurrency)
        before = resource.getrusage(resource.RUSAGE_SELF)
        loop_cpu, wall = time.thread_time(), time.perf_counter()
        summary = Reconciler(build_plan(topology, *recorded(store)), store, fleet, options).run()
        loop_cpu, wall = time.thread_time() - loop_cpu, time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
        fleet.close()
        events = len(store.events_since(0, limit=10**8))
    count = len(summary.states)
    done = Counter(s.value for s in summary.states.values())
    process_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lower_bound = _budget_bound(topology)
    print(f"topology        {Path(args.file).name}: {count:,} nodes, {len(topology.racks)} racks")
    print(
        f"simulated       BMC call {args.latency[0] * 1000:.0f}-{args.latency[1] * 1000:.0f} ms, boot {args.boot[0]:g}-{args.boot[1]:g} s, install {args.install[0]:g}-{args.install[1]:g} s, {args.concurrency} BMC calls in flight"
    )
    print(f"result          {dict(done)}")
    print(
        f"wall            {wall:.1f} s (the slowest rack's power budget alone needs {lower_bound:.0f} s)"
    )
    print(f"nodes/s         {count / wall:.1f}")
    print(
        f"CPU per node    {process_cpu / count * 1000:.2f} ms whole process, {loop_cpu / count * 1000:.2f} ms reconciler loop"
    )
    print(f"loop busy       {loop_cpu / wall * 100:.1f} % of the wall time")
    print(f"BMC time        {fleet.busy_seconds:,.0f} s of simulated BMC calls")
    print(f"store           {events:,} events logged")
    print(f"peak RSS        {after.ru_maxrss / 1024:.0f} MiB")
    if done.get(State.PROVISIONED.value, 0) != count:
        sys.exit("not every node was provisioned")


def _budget_bound(topology: object) -> float:
    """Power-on spacing alone: (nodes in the rack - 1) x stagger, for the slowest rack."""
    worst = 0.0
    for rack in topology.racks:  # type: ignore[attr-defined]
        if rack.power_budget is not None:
            worst = max(worst, (len(rack.nodes) - 1) * rack.power_budget.stagger_seconds)
    return worst


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
