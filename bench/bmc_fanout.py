"""Power status of 1,000 emulated BMCs at once: wall time, calls/s, CPU and peak memory.

The BMCs run in a separate process on 127.0.0.1 so the figures are Strata's own:
- ``emulator``: sushy-tools' Redfish emulator (fake driver) holding N systems;
- ``mock``: the tests' wire-level Redfish server (tests/support/redfish_mock.py)
  holding N systems, much faster than the emulator, so Strata's cost shows.
Each BMC is a separate driver, as in a datacenter. Round 1 is a cold start
(TCP, service root, session login, system discovery); round 2 asks again on
the open sessions. CPU-seconds per call of the client process are the figure
to trust on a shared machine.

    python bench/bmc_fanout.py [--count 1000] [--parallel 64] [--backend both]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ runs from a checkout: tests.support is beside it

from bench.measure import cpu_seconds  # noqa: E402

USER, PASSWORD = "bench", "bench-" + uuid.uuid4().hex[:8]


def serve(backend: str, count: int, port_file: Path) -> None:
    """Child process: hold ``count`` systems and write the port, then serve until killed."""
    if backend == "emulator":
        from tests.support.redfish_emulator import start_emulator

        running = start_emulator(Path(tempfile.mkdtemp()), count, os.environ["BENCH_PASSWORD"])
        port, paths = running.port, [s.path for s in running.systems]
    else:
        from tests.support.redfish_mock import RedfishMock

        paths = [f"/redfish/v1/Systems/{i}" for i in range(count)]
        mock = RedfishMock(_tree(paths), username=USER, password=os.environ["BENCH_PASSWORD"])
        port = mock.port
    port_file.write_text(f"{port}\n" + "\n".join(paths))
    while True:
        time.sleep(3600)


def _tree(paths: list[str]) -> dict[str, dict[str, Any]]:
    tree: dict[str, dict[str, Any]] = {
        "/redfish/v1": {
            "@odata.id": "/redfish/v1",
            "Id": "Root",
            "Name": "Root",
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
            "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
            "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}},
        },
        "/redfish/v1/SessionService": {
            "@odata.id": "/redfish/v1/SessionService",
            "Id": "S",
            "Name": "S",
            "Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"},
        },
    }
    for path in paths:
        tree[path] = {
            "@odata.id": path,
            "Id": path.rsplit("/", 1)[1],
            "Name": "System",
            "PowerState": "Off",
        }
    return tree


def measure(backend: str, count: int, parallel: int) -> dict[str, float]:
    from strata.bmc import BMCTarget, Credentials, DriverSettings, PowerState, Secret, make_driver

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        env = {**os.environ, "BENCH_PASSWORD": PASSWORD}
        user = "strata" if backend == "emulator" else USER
        server = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                backend,
                "--count",
                str(count),
                "--port-file",
                str(port_file),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not port_file.exists() or len(port_file.read_text().splitlines()) < count + 1:
                time.sleep(0.05)
                if server.poll() is not None:
                    raise SystemExit(f"the {backend} server exited")
            port, *paths = port_file.read_text().splitlines()
            # Generous limits: this measures throughput; the fault tests measure the limits.
            settings = DriverSettings(
                connect_timeout=60, read_timeout=120, operation_timeout=900, attempts=3
            )
            drivers = [
                make_driver(
                    BMCTarget(
                        f"node-{i:04}",
                        f"redfish+http://127.0.0.1:{port}{p}",
                        "redfish+http",
                        "127.0.0.1",
                        int(port),
                        p,
                    ),
                    Credentials(user, Secret(PASSWORD)),
                    settings,
                )
                for i, p in enumerate(paths)
            ]
            result: dict[str, float] = {}
            for round_name in ("cold", "warm"):
                server_cpu = cpu_seconds(server.pid)
                usage = resource.getrusage(resource.RUSAGE_SELF)
                start = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
                    states = list(pool.map(lambda d: d.power_state(), drivers))
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_SELF)
                assert states == [PowerState.OFF] * count, "every BMC answers"
                cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
                result[f"{round_name}_wall_s"] = wall
                result[f"{round_name}_calls_per_s"] = count / wall
                result[f"{round_name}_client_cpu_ms_per_call"] = 1000 * cpu / count
                result[f"{round_name}_server_cpu_ms_per_call"] = (
                    1000 * (cpu_seconds(server.pid) - server_cpu) / count
                )
            result["client_peak_rss_mib"] = (
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
            for driver in drivers:
                driver.close()
            return result
        finally:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--backend", choices=["emulator", "mock", "both"], default="both")
    parser.add_argument("--serve", choices=["emulator", "mock"], help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.count, args.port_file)
        return
    import logging

    logging.disable(logging.WARNING)  # sushy's session-to-basic fallback notes, a thousand times
    backends = ["mock", "emulator"] if args.backend == "both" else [args.backend]
    print(
        f"power status of {args.count:,} BMCs, {args.parallel} at once; {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(
        f"{'backend':<10} {'round':<5} {'wall s':>8} {'calls/s':>9} {'client CPU ms/call':>19} {'server CPU ms/call':>19}"
    )
    for backend in backends:
        figures = measure(backend, args.count, args.parallel)
        for r in ("cold", "warm"):
            print(
                f"{backend:<10} {r:<5} {figures[f'{r}_wall_s']:>8.2f} {figures[f'{r}_calls_per_s']:>9.0f} "
                f"{figures[f'{r}_client_cpu_ms_per_call']:>19.2f} {figures[f'{r}_server_cpu_ms_per_call']:>19.2f}"
            )
        print(f"{backend:<10} client peak RSS {figures['client_peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
