"""Machines booting while slow clients hold thousands of connections to the boot service.

``strata serve`` runs in its own process under an open-file limit (1,024 soft and hard,
a common default, so it cannot raise it). Simulated machines do a network boot's
HTTP part — ``/boot.ipxe``, ``/ipxe?mac=…``, the live Ignition config, the
``installed`` phone-home — each from its own loopback address (127.0.2.N, as machines
on a provisioning network have their own; ``--shared-address``: all from 127.0.0.1,
as behind the QEMU lab's NAT), first with no other load, then while ``--slow``
slowloris clients press from another process: spread over 127.0.1.1… (40 per
address, below the per-address bound, so that the total bound is what is tested),
each sends a request head one header line a second, and reconnects a second after
the service closes it (the slowloris tool waits 15).

``--slow-body N``: slow-body (slow POST) clients instead, 60 from each of 127.0.0.2…:
a whole phone-home head with a valid events token and ``Content-Length: 60000``, then a
byte a second, reconnecting as soon as the service closes it; meanwhile a prober on
127.0.0.1 asks for ``/boot.ipxe`` on a new connection every quarter second. Printed per
run: the machines' boot time (median and maximum), how often the service closed a slow
client and what it answered, the prober's answers, the service's peak descriptors, CPU.

    python bench/slow_clients.py [--machines 20] [--slow 2000 | --slow-body 360]
        [--open-files 1024]

Traffic goes to 127.0.0.1 only (from 127.0.0.0/8 source addresses). The slow clients
stop when their parent closes their stdin, or after ``HOLD_LIMIT`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds, free_port  # noqa: E402

PER_ADDRESS = 40  # slow clients per source address: under the per-address bound (64)
BODY_PER_ADDRESS = 60  # slow-body clients per address: six addresses hold 360
BODY_BYTES = 60_000  # what a slow-body client declares: under the 64 KiB limit
LINE_SECONDS = 1.0  # a slow client sends one header line (or body byte) this often
RECONNECT_SECONDS = 1.0  # ... and reconnects this long after the service closed it
BODY_RECONNECT_SECONDS = 0.05  # a slow-body client reconnects at once
PROBES = 60  # the prober's requests, one a PROBE_SECONDS
PROBE_SECONDS = 0.25
HOLD_LIMIT = 600.0  # the slow clients' process stops itself after this many seconds
_IGNITION = re.compile(r"ignition\.config\.url=(\S+)")
_EVENTS = re.compile(r"(https?://[^\s\"'\\]+/events/[^\s\"'\\]+)")


def write_topology(directory: Path, machines: int) -> dict[str, str]:
    """A topology of ``machines`` nodes in ``directory``; each node's boot MAC by name."""
    from strata.lab.generated import generated_text
    from strata.lab.image import stand_ins_for
    from strata.plan import build_plan
    from strata.topology import load

    file = directory / "topology.yaml"
    file.write_text(generated_text(racks=1, per_rack=machines - 1, name="slow"))
    nodes = build_plan(load(file)).nodes
    stand_ins_for(directory / "mirror", nodes)  # what the machines would fetch next
    return {n.name: n.boot_mac for n in nodes}


def start_serve(
    directory: Path, nodes: list[str], open_files: int
) -> tuple[subprocess.Popen[bytes], int]:
    """``strata serve`` on 127.0.0.1 with every node being provisioned, its open-file
    limit set to ``open_files`` (soft and hard); its output goes to ``serve.log``."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "strata.cli.app",
        "serve",
        "-f",
        str(directory / "topology.yaml"),
    ]
    command += ["--listen", f"127.0.0.1:{port}", "--url", f"http://127.0.0.1:{port}"]
    command += ["--artifacts", str(directory / "mirror")]
    for node in nodes:
        command += ["--provision", node]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with (directory / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, preexec_fn=limit)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((directory / "serve.log").read_text()[-2000:])
        try:
            httpx.get(f"http://127.0.0.1:{port}/boot.ipxe", timeout=2)
            return process, port
        except httpx.TransportError:
            time.sleep(0.2)


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# -- the slow clients, in a process of their own ---------------------------------


@dataclass
class HoldStats:
    connects: int = 0
    closed_by_service: int = 0
    open_now: int = 0
    peak_open: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # the service's, by status line


@dataclass
class Holders:
    """Slow clients: each holds one connection, sending a head that never ends, or
    (``body_path``) a whole head and then a body a byte at a time."""

    port: int
    count: int
    body_path: str | None = None
    stats: HoldStats = field(default_factory=HoldStats)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        if self.body_path is None:
            addresses = [f"127.0.1.{i // PER_ADDRESS + 1}" for i in range(self.count)]
        else:
            addresses = [f"127.0.0.{i // BODY_PER_ADDRESS + 2}" for i in range(self.count)]
        await asyncio.gather(*(self._hold(a) for a in addresses))

    async def _hold(self, address: str) -> None:
        s, pause = self.stats, BODY_RECONNECT_SECONDS if self.body_path else RECONNECT_SECONDS
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(address, 0)
                )
            except OSError:
                await self._pause(RECONNECT_SECONDS)
                continue
            s.connects, s.open_now = s.connects + 1, s.open_now + 1
            s.peak_open = max(s.peak_open, s.open_now)
            try:
                if await self._trickle(reader, writer):
                    s.closed_by_service += 1
            finally:
                s.open_now -= 1
                writer.close()
            await self._pause(pause)

    async def _trickle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Send a head line by line (or a head, then its body byte by byte) until the
        service answers or closes the connection (True) or the clients stop (False)."""
        if self.body_path is None:
            line, then = b"GET /boot.ipxe HTTP/1.1\r\nHost: strata\r\n", b"X-Slow: 1\r\n"
        else:
            line = (
                f"POST {self.body_path} HTTP/1.1\r\nHost: strata\r\n"
                f"Content-Type: application/json\r\nContent-Length: {BODY_BYTES}\r\n\r\n"
            ).encode()
            then = b" "  # JSON whitespace, a byte a second
        while not self.stop.is_set():
            try:
                writer.write(line)
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(4096), LINE_SECONDS)
            except TimeoutError:
                line = then
                continue
            except OSError:
                return True
            if answer and not answer.startswith(b"HTTP/1.1 "):
                continue
            said = answer[9 : answer.find(b"\r\n")].decode("latin-1") or "closed"
            self.stats.answers[said] = self.stats.answers.get(said, 0) + 1
            return True
        return False

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


async def _hold_main(port: int, count: int, body_path: str | None) -> None:
    """The slow clients' process: stats as a JSON line every 0.1 s; stop at stdin's end."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, hard))
    holders = Holders(port, count, body_path)
    loop = asyncio.get_running_loop()
    ended = loop.run_in_executor(None, sys.stdin.read)
    ended.add_done_callback(lambda _: holders.stop.set())
    loop.call_later(HOLD_LIMIT, holders.stop.set)
    running = asyncio.ensure_future(holders.run())
    while not running.done():
        print(json.dumps(asdict(holders.stats)), flush=True)
        await asyncio.sleep(0.1)
    print(json.dumps(asdict(holders.stats)), flush=True)


class SlowClients:
    """The parent's handle on the slow clients' process, with their latest stats."""

    def __init__(self, port: int, count: int, body_path: str | None = None) -> None:
        command = [sys.executable, __file__, "--hold", str(port), str(count)]
        command += ["--body-path", body_path] if body_path else []
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.stats = HoldStats()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stats = HoldStats(**json.loads(line))

    def stop(self) -> HoldStats:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(60)
        self._reader.join(10)
        return self.stats


# -- the machines ---------------------------------------------------------------


async def boot(base: str, mac: str, address: str) -> float:
    """One machine's network boot over HTTP, as iPXE and the installer do it; seconds."""
    start = time.monotonic()
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(transport=transport, timeout=60) as client:
        installed = await _phone_home_url(client, base, mac)
        (await client.post(installed)).raise_for_status()
    return time.monotonic() - start


async def _phone_home_url(client: httpx.AsyncClient, base: str, mac: str) -> str:
    """The machine's way to its ``installed`` phone-home URL: the entry, its script, its
    live config."""
    chain = (await client.get(f"{base}/boot.ipxe")).raise_for_status().text
    url = chain.splitlines()[-1].removeprefix("chain ")
    url = re.sub(r"\$\{[^}]+\}", "", url.replace("${netX/mac}", mac))
    script = (await client.get(url)).raise_for_status().text
    found = _IGNITION.search(script)
    if found is None:
        raise AssertionError(f"{mac}: no install script:\n{script}")
    live = (await client.get(found.group(1))).raise_for_status().text
    return str(next(e for e in _EVENTS.findall(live) if e.endswith("event=installed")))


def events_path(port: int, mac: str) -> str:
    """A node's phone-home path and query, events token included, without ``&event=``:
    what a slow-body client posts to (it holds a valid token: the hardest case)."""

    async def find() -> str:
        async with httpx.AsyncClient(timeout=60) as client:
            return await _phone_home_url(client, f"http://127.0.0.1:{port}", mac)

    url = asyncio.run(find()).removesuffix("&event=installed")
    return url.removeprefix(f"http://127.0.0.1:{port}")


def probe(base: str, count: int, every: float) -> dict[str, int]:
    """``count`` requests for ``/boot.ipxe`` from 127.0.0.1, each on a new connection,
    one ``every`` seconds: how they were answered (status, or the error's name)."""
    outcomes: dict[str, int] = {}
    for _ in range(count):
        try:
            got = str(httpx.get(f"{base}/boot.ipxe", timeout=60).status_code)
        except httpx.HTTPError as exc:
            got = type(exc).__name__
        outcomes[got] = outcomes.get(got, 0) + 1
        time.sleep(every)
    return outcomes


async def boot_all(base: str, macs: list[str], shared: bool = False) -> list[float]:
    """Boot every machine at once; each from its own address unless ``shared``."""
    addresses = ["127.0.0.1" if shared else f"127.0.2.{i + 1}" for i in range(len(macs))]
    return list(
        await asyncio.gather(*(boot(base, m, a) for m, a in zip(macs, addresses, strict=True)))
    )


@dataclass
class Run:
    machines: int
    slow: int
    boot_seconds: list[float]
    closed_by_service: int = 0
    peak_descriptors: int = 0
    service_cpu: float = 0.0
    kind: str = "slow clients"
    answers: dict[str, int] = field(default_factory=dict)  # to the slow clients
    probes: dict[str, int] = field(default_factory=dict)  # the prober's answers

    def line(self) -> str:
        s = self.boot_seconds
        said = ", ".join(f"{k} {v}" for k, v in sorted(self.answers.items()))
        probed = ", ".join(f"{k} {v}" for k, v in sorted(self.probes.items()))
        return (
            f"{self.machines} machines with {self.slow} {self.kind}: boot median "
            f"{statistics.median(s):.3f} s, max {max(s):.3f} s; slow connections closed by "
            f"the service {self.closed_by_service}{f' ({said})' if said else ''}; "
            f"{f'probes {probed}; ' if probed else ''}service descriptors at most "
            f"{self.peak_descriptors}; service CPU {self.service_cpu:.1f} s"
        )


def calm(pid: int, port: int, macs: list[str], shared: bool = False) -> Run:
    cpu = cpu_seconds(pid)
    seconds = asyncio.run(boot_all(f"http://127.0.0.1:{port}", macs, shared))
    return Run(len(macs), 0, seconds, 0, descriptors(pid), cpu_seconds(pid) - cpu)


def under_pressure(
    pid: int,
    port: int,
    slow: int,
    macs: list[str],
    shared: bool = False,
    body_path: str | None = None,
    probes: int = 0,
) -> Run:
    """Boot ``macs`` (and send ``probes``) while ``slow`` slow clients press (slow bodies
    to ``body_path`` when given); they are pressing (every one has connected, and the
    service has closed at least half as many) before the first boot."""
    clients = SlowClients(port, slow, body_path)
    peak, cpu = descriptors(pid), cpu_seconds(pid)
    try:
        deadline = time.monotonic() + 120
        while clients.stats.connects < slow or clients.stats.closed_by_service < slow // 2:
            if time.monotonic() > deadline or clients.process.poll() is not None:
                raise RuntimeError(f"the slow clients never pressed: {clients.stats}")
            peak = max(peak, descriptors(pid))
            time.sleep(0.05)
        out: list[Run] = []
        probed: list[dict[str, int]] = []
        base = f"http://127.0.0.1:{port}"
        work = [
            threading.Thread(target=lambda: out.append(calm(pid, port, macs, shared))),
            threading.Thread(target=lambda: probed.append(probe(base, probes, PROBE_SECONDS))),
        ]
        for thread in work:
            thread.start()
        while any(thread.is_alive() for thread in work):
            peak = max(peak, descriptors(pid))
            time.sleep(0.02)
        if not out or not probed:
            raise RuntimeError("a machine did not boot, or the prober failed (see above)")
    finally:
        stats = clients.stop()
    kind = "slow clients" if body_path is None else "slow-body clients"
    run = Run(len(macs), slow, out[0].boot_seconds, stats.closed_by_service, peak, kind=kind)
    run.service_cpu, run.answers, run.probes = cpu_seconds(pid) - cpu, stats.answers, probed[0]
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=20, help="machines per run")
    parser.add_argument("--slow", type=int, default=2000, help="slow clients")
    parser.add_argument("--slow-body", type=int, default=0, help="slow-body clients instead")
    parser.add_argument("--open-files", type=int, default=1024)
    parser.add_argument("--shared-address", action="store_true", help="machines from 127.0.0.1")
    parser.add_argument(
        "--hold", nargs=2, type=int, metavar=("PORT", "COUNT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--body-path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hold:
        asyncio.run(_hold_main(args.hold[0], args.hold[1], args.body_path))
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        names = write_topology(directory, 2 * args.machines + 1)  # the last: the attacker's
        process, port = start_serve(directory, list(names), args.open_files)
        macs = list(names.values())
        try:
            print(calm(process.pid, port, macs[: args.machines], args.shared_address).line())
            loaded, slow = macs[args.machines : 2 * args.machines], args.slow_body or args.slow
            body = events_path(port, macs[-1]) if args.slow_body else None
            pressed = (process.pid, port, slow, loaded, args.shared_address, body)
            print(under_pressure(*pressed, probes=PROBES if body else 0).line())
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
