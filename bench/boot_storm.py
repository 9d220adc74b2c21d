"""A boot storm: N machines booting at once against the boot service; artifact throughput vs nginx.

The service runs with its SQLite store in its own process (uvicorn, one worker), as
``strata serve`` runs it. Two loads, each printing requests/s, p50/p99 latency and the
CPU each side spent per request (both sides share the machine's cores):
- ``flow N``: N machines doing what iPXE does: ``GET /ipxe?mac=…`` for the script, then
  the live Ignition config it names (a single-use token), from an asyncio/httpx client;
  its CPU per request shows it, not the service, sets the pace on two cores;
- ``ipxe N``: wrk (a C load generator, Debian's) sending ``/ipxe`` for N machines being
  provisioned, round-robin, for ``--seconds``: the service's own capacity.

Then a large artifact is fetched with curl from the boot service and from Debian's
nginx (started here on 127.0.0.1, sendfile on), alternating, 3 times each; the
medians and their ratio are printed.

    python bench/boot_storm.py [--machines 100 1000 5000] [--concurrency 256] [--artifact-mb 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds, free_port  # noqa: E402
from strata.boot.limits import DEFAULT_LIMITS  # noqa: E402

TOPOLOGY = ROOT / "examples" / "hyperscale" / "topology.yaml"  # 10,009 nodes: enough MACs
NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def serve(state: Path, mirror: Path, port: int, machines: int) -> None:
    """Child process: the boot service for the first ``machines`` nodes, all being provisioned,
    on the server `strata serve` runs (its connection guard and limits)."""
    from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
    from strata.plan import build_plan
    from strata.store import SQLiteStore
    from strata.topology import load

    plan = build_plan(load(TOPOLOGY))
    store = SQLiteStore(state)
    for node in plan.nodes[:machines]:
        store.begin_attempt(node.name, lifetime=3600)
    content = BootContent(plan, f"http://127.0.0.1:{port}", TokenSigner(store.token_key()))
    service = BootService(content, store, AssetIndex(mirror))
    from strata.boot.server import boot_server

    server, _ = boot_server(service.app, "127.0.0.1", port)
    print("ready", flush=True)
    server.run()


def start_service(workdir: Path, mirror: Path, machines: int) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "--serve",
        str(workdir / "state.db"),
        str(mirror),
        str(port),
        str(machines),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    _wait_for(port)
    return process, port


def _wait_for(port: int) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/boot.ipxe", timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


PER_SOURCE = 32  # connections per client address: machines have addresses of their own,
# and the boot service bounds connections per address (64; docs/boot.md, Limits)


async def flow(port: int, macs: list[str], concurrency: int) -> tuple[float, list[float]]:
    """Each machine: its script, then the live config the script names (single-use token).
    The machines come from ``ceil(concurrency / 32)`` loopback addresses (127.0.1.x)."""
    import httpx

    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    sources = max(1, -(-concurrency // PER_SOURCE))
    limits = httpx.Limits(max_connections=PER_SOURCE, max_keepalive_connections=PER_SOURCE)
    clients = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            limits=limits,
            timeout=120,
            transport=httpx.AsyncHTTPTransport(limits=limits, local_address=f"127.0.1.{i + 1}"),
        )
        for i in range(sources)
    ]

    async def machine(index: int, mac: str) -> None:
        client = clients[index % sources]
        async with gate:
            start = time.perf_counter()
            script = await client.get("/ipxe", params={"mac": mac})
            latencies.append(time.perf_counter() - start)
            url = next(a for a in script.text.split() if a.startswith("ignition.config.url="))
            start = time.perf_counter()
            config = await client.get(url.split("=", 1)[1])
            latencies.append(time.perf_counter() - start)
            if script.status_code != 200 or config.status_code != 200:
                raise SystemExit(f"machine {mac}: {script.status_code}, {config.status_code}")

    try:
        begin = time.perf_counter()
        await asyncio.gather(*(machine(i, mac) for i, mac in enumerate(macs)))
        return time.perf_counter() - begin, latencies
    finally:
        for client in clients:
            await client.aclose()


def run_flow(work: Path, mirror: Path, macs: list[str], n: int, concurrency: int) -> str:
    run = work / f"flow-{n}"
    run.mkdir()
    process, port = start_service(run, mirror, n)
    try:
        server_before, client_before = cpu_seconds(process.pid), cpu_seconds(os.getpid())
        wall, latencies = asyncio.run(flow(port, macs[:n], concurrency))
        server_cpu = cpu_seconds(process.pid) - server_before
        client_cpu = cpu_seconds(os.getpid()) - client_before
    finally:
        process.terminate()
        process.wait(30)
    return _row(
        f"flow {n:,}",
        len(latencies),
        wall,
        statistics.quantiles(latencies, n=100),
        server_cpu,
        client_cpu,
    )


def run_wrk(
    work: Path, mirror: Path, macs: list[str], n: int, concurrency: int, seconds: int
) -> str:
    """The service alone under a C client: /ipxe from n machines being provisioned. wrk
    speaks from one address, and the service keeps at most 64 connections per address
    (docs/boot.md, Limits): it runs with at most that many."""
    concurrency = min(concurrency, DEFAULT_LIMITS.max_connections_per_client)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    run = work / f"wrk-{n}"
    run.mkdir()
    (run / "macs").write_text("\n".join(macs[:n]) + "\n")
    process, port = start_service(run, mirror, n)
    try:
        server_before = cpu_seconds(process.pid)
        client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        output = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{concurrency}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                str(ROOT / "bench" / "storm.lua"),
                f"http://127.0.0.1:{port}",
            ],
            env={**os.environ, "STORM_MACS": str(run / "macs")},
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        server_cpu = cpu_seconds(process.pid) - server_before
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (after.ru_utime - client_before.ru_utime) + (
            after.ru_stime - client_before.ru_stime
        )
    finally:
        process.terminate()
        process.wait(30)
    line = next(x for x in output.splitlines() if x.startswith("RESULT "))
    r = {k: int(v) for k, v in (pair.split("=") for pair in line.split()[1:])}
    if r["non2xx"]:
        raise SystemExit(f"errors under load: {line}")
    quantiles = [0.0] * 99
    quantiles[49], quantiles[98] = r["p50_us"] / 1e6, r["p99_us"] / 1e6
    return _row(
        f"ipxe {n:,}", r["requests"], r["duration_us"] / 1e6, quantiles, server_cpu, client_cpu
    )


def _row(
    name: str, requests: int, wall: float, q: list[float], server_cpu: float, client_cpu: float
) -> str:
    per = 1000 / requests
    return (
        f"{name:<12} {requests:>9,} {wall:>8.2f} {requests / wall:>8.0f} {q[49] * 1000:>8.1f} "
        f"{q[98] * 1000:>8.1f} {server_cpu * per:>11.2f} {client_cpu * per:>11.2f}"
    )


def artifact_speed(url: str) -> float:
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return float(out) / 1e6  # MB/s


def compare_artifacts(work: Path, mirror: Path, megabytes: int) -> str:
    version = mirror / "flatcar" / "4081.2.0"
    version.mkdir(parents=True)
    name = "flatcar_production_image.bin.bz2"
    with (version / name).open("wb") as stream:
        block = os.urandom(1 << 20)
        for _ in range(megabytes):
            stream.write(block)
    for directory in (work, mirror, mirror / "flatcar", version):
        directory.chmod(0o755)  # nginx's workers read as nobody
    (version / name).chmod(0o644)
    nginx = shutil.which("nginx")
    if nginx is None:
        raise SystemExit("nginx is missing: apt-get install nginx-light")
    nginx_port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, port=nginx_port, root=mirror))
    subprocess.run([nginx, "-c", str(conf), "-p", str(work)], check=True)
    run = work / "run-artifacts"
    run.mkdir()
    process, port = start_service(run, mirror, 1)
    url_path = f"/flatcar/4081.2.0/{name}"
    try:
        ours, theirs = [], []
        for _ in range(3):
            ours.append(artifact_speed(f"http://127.0.0.1:{port}/assets{url_path}"))
            theirs.append(artifact_speed(f"http://127.0.0.1:{nginx_port}{url_path}"))
    finally:
        process.terminate()
        process.wait(30)
        subprocess.run(
            [nginx, "-c", str(conf), "-p", str(work), "-s", "stop"],
            check=False,
            capture_output=True,
        )
    a, b = statistics.median(ours), statistics.median(theirs)
    return f"artifact {megabytes} MB: boot service {a:,.0f} MB/s, nginx {b:,.0f} MB/s, nginx/boot service = {b / a:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--artifact-mb", type=int, default=500)
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        state, mirror, port, machines = args.serve
        serve(Path(state), Path(mirror), int(port), int(machines))
        return
    from strata.plan import build_plan
    from strata.topology import load

    macs = [n.boot_mac for n in build_plan(load(TOPOLOGY)).nodes]
    print(
        f"boot storm on {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{args.concurrency} connections at most; CPU in ms per request"
    )
    print(
        f"{'run':<12} {'requests':>9} {'wall s':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'server CPU':>11} {'client CPU':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mirror = work / "mirror"
        for n in args.machines:
            print(run_flow(work, mirror, macs, n, args.concurrency), flush=True)
        for n in args.machines:
            print(run_wrk(work, mirror, macs, n, args.concurrency, args.seconds), flush=True)
        print(compare_artifacts(work, mirror, args.artifact_mb))


if __name__ == "__main__":
    main()
