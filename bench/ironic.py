"""OpenStack Ironic, standalone, as the benchmark runs it.

Installed from PyPI into its own virtual environment under the work directory
(never the project's), run as one all-in-one ``ironic`` process
(``rpc_transport = none``, ``auth_strategy = noauth``, SQLite, the API on
127.0.0.1, no DHCP provider), and driven through its REST API: enroll ->
manage -> provide -> active, retrying 409 (node locked) and 503, polling the
states. Two configurations:

- ``fake``: the ``fake-hardware`` type, every interface ``fake``;
- ``redfish``: the ``redfish`` hardware type against sushy-tools' emulator,
  ``ipxe`` boot, ``ramdisk`` deploy (boot a kernel and initramfs, no agent),
  a port per node with its MAC.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import Sampler, at_rest, free_port, tree_cpu, tree_rss_mib

VERSION = "39.0.0"
HEADERS = {"Content-Type": "application/json", "X-OpenStack-Ironic-API-Version": "latest"}
_LOCKED = b"database is locked"
_ORIGIN = {"manage": "enroll", "provide": "manageable", "active": "available"}
RETRIES = 3
POWER_SYNC = 60  # seconds, [conductor]sync_power_state_interval: Ironic's default

COMMON = """\
[DEFAULT]
rpc_transport = none
auth_strategy = noauth
host = bench
enabled_network_interfaces = noop
default_network_interface = noop
[api]
host_ip = 127.0.0.1
port = {port}
[database]
connection = sqlite:///{run}/ironic.sqlite
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = false
sync_power_state_interval = {power_sync}
[oslo_concurrency]
lock_path = {run}/locks
"""

INTERFACES = ("inspect", "vendor", "raid", "bios", "console", "rescue", "firmware")
FAKE = (
    "enabled_hardware_types = fake-hardware\n"
    + "".join(
        f"enabled_{kind}_interfaces = fake\n" for kind in ("boot", "deploy", "management", "power")
    )
    + "".join(f"enabled_{kind}_interfaces = fake,no-{kind}\n" for kind in INTERFACES)
    + ("enabled_storage_interfaces = fake,noop\n")
)
REDFISH = (
    "enabled_hardware_types = redfish\n"
    "enabled_boot_interfaces = ipxe\n"
    "enabled_deploy_interfaces = ramdisk\n"
    "enabled_management_interfaces = redfish\n"
    "enabled_power_interfaces = redfish\n"
    + "".join(f"enabled_{kind}_interfaces = no-{kind}\n" for kind in INTERFACES)
    + "enabled_storage_interfaces = noop\n"
)
REDFISH_PATHS = """\
[deploy]
http_url = http://127.0.0.1:{port}/httpboot
http_root = {run}/httpboot
[pxe]
tftp_root = {run}/tftpboot
tftp_master_path = {run}/tftpboot/master_images
images_path = {run}/images
instance_master_path = {run}/master_images
"""


@dataclass(frozen=True)
class Hardware:
    """Where the nodes' BMCs are: the emulator's URL and its systems (uuid, name, MAC),
    and the URL of a kernel and an initramfs to boot. None: fake hardware."""

    bmc_url: str
    username: str
    password: str
    systems: list[tuple[str, str, str]]
    images_url: str


def install(work: Path) -> Path:
    venv = work / "ironic-venv"
    if not (venv / "bin" / "ironic").exists():
        print(f"installing ironic=={VERSION} into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, f"ironic=={VERSION}"], check=True)
    return venv


def api(
    base: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    retry: tuple[int, ...] = (409, 503),
) -> Any:
    """One call, retried while Ironic says the node is locked (409) or it is busy (503),
    when its SQLite database was locked (a 500 whose transaction changed nothing), and
    when its API drops the connection under load."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=HEADERS)
    for _ in range(600):
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw = answer.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            detail = exc.read()
            if exc.code not in retry and not (exc.code == 500 and _LOCKED in detail):
                raise RuntimeError(f"{method} {path}: {exc.code} {detail[:300]!r}") from None
        except (OSError, http.client.HTTPException):  # refused, dropped, timed out
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{method} {path}: no success after 600 tries")


def _create(base: str, path: str, body: dict[str, Any], exists: Callable[[], bool]) -> None:
    """POST a new resource; after a dropped connection, ask whether it was made."""
    try:
        api(base, "POST", path, body, retry=(503,))  # 409 here: it exists
    except RuntimeError as exc:
        if " 409 " not in str(exc) and not exists():
            raise


def node_states(base: str) -> dict[str, str]:
    """Every node's provision state, a page of 1,000 at a time (the marker: a UUID)."""
    states: dict[str, str] = {}
    marker = ""
    while True:
        page = api(base, "GET", f"/v1/nodes?fields=uuid,name,provision_state&limit=1000{marker}")
        for node in page["nodes"]:
            states[node["name"]] = node["provision_state"]
        if len(page["nodes"]) < 1000:
            return states
        marker = f"&marker={page['nodes'][-1]['uuid']}"


class Ironic:
    """One Ironic process with a fresh database, for one run."""

    def __init__(
        self, venv: Path, work: Path, hardware: Hardware | None, power_sync: int = POWER_SYNC
    ) -> None:
        self.run = Path(tempfile.mkdtemp(dir=work, prefix="ironic-"))
        self.hardware = hardware
        self.power_sync = power_sync
        self.retries: dict[str, int] = {}  # node: times it failed and was asked again
        port = free_port()
        conf = self.run / "ironic.conf"
        values = {"port": port, "run": self.run, "power_sync": power_sync}
        text = COMMON.format(**values).replace("[api]", (REDFISH if hardware else FAKE) + "[api]")
        if hardware:
            http_port = hardware.images_url.split(":")[-1].split("/")[0]
            text += REDFISH_PATHS.format(port=http_port, run=self.run)
            for sub in ("httpboot", "tftpboot/master_images", "images", "master_images"):
                (self.run / sub).mkdir(parents=True, exist_ok=True)
        conf.write_text(text)
        bin_ = venv / "bin"
        dbsync = [str(bin_ / "ironic-dbsync"), "--config-file", str(conf), "create_schema"]
        subprocess.run(dbsync, check=True, capture_output=True)
        with (self.run / "ironic.log").open("w") as log:
            self.process = subprocess.Popen(
                [str(bin_ / "ironic"), "--config-file", str(conf)],
                stdout=log,
                stderr=log,
                start_new_session=True,  # its workers go with it
            )
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                api(self.base, "GET", "/v1")
                return
            except (RuntimeError, OSError):
                time.sleep(0.1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        shutil.rmtree(self.run, ignore_errors=True)

    def enroll(self, name: str, index: int) -> None:
        base = self.base
        body: dict[str, Any] = {"name": name, "driver": "fake-hardware"}
        hw = self.hardware
        if hw is None:
            _create(base, "/v1/nodes", body, lambda: _found(base, f"/v1/nodes/{name}"))
            return
        uuid, _, mac = hw.systems[index]
        body = {
            "name": name,
            "driver": "redfish",
            "driver_info": {
                "redfish_address": hw.bmc_url,
                "redfish_system_id": f"/redfish/v1/Systems/{uuid}",
                "redfish_username": hw.username,
                "redfish_password": hw.password,
                "deploy_kernel": f"{hw.images_url}/vmlinuz",
                "deploy_ramdisk": f"{hw.images_url}/initrd.img",
            },
            "instance_info": {
                "kernel": f"{hw.images_url}/vmlinuz",
                "ramdisk": f"{hw.images_url}/initrd.img",
            },
        }
        _create(base, "/v1/nodes", body, lambda: _found(base, f"/v1/nodes/{name}"))
        node = api(base, "GET", f"/v1/nodes/{name}?fields=uuid")["uuid"]
        port = {"node_uuid": node, "address": mac}
        _create(base, "/v1/ports", port, lambda: _found(base, f"/v1/ports/detail?address={mac}"))

    def move(self, name: str, target: str) -> None:
        """Ask for a provision state. A request retried after a timeout may find its
        first try done (400: not allowed from the state it is in now): that is fine
        unless the node is still where it started."""
        try:
            api(self.base, "PUT", f"/v1/nodes/{name}/states/provision", {"target": target})
        except RuntimeError as exc:
            if " 400 " not in str(exc):
                raise
            node = api(self.base, "GET", f"/v1/nodes/{name}?fields=provision_state")
            if node["provision_state"] == _ORIGIN[target]:
                raise

    def wait_for(self, target: str, state: str, count: int, deadline: float) -> None:
        """Until ``count`` nodes are in ``state``. A node that failed on the way (its
        SQLite database locked at the wrong moment, seen here) is asked again, as an
        operator or Metal3's bare-metal operator would: up to RETRIES times."""
        while time.monotonic() < deadline:
            states = node_states(self.base)
            if sum(1 for s in states.values() if s == state) == count:
                return
            for name in (n for n, s in states.items() if "fail" in s):
                self.retries[name] = self.retries.get(name, 0) + 1
                if self.retries[name] > RETRIES:
                    why = api(self.base, "GET", f"/v1/nodes/{name}?fields=last_error")
                    raise RuntimeError(f"ironic: {name} failed {RETRIES + 1} times: {why}")
                self.move(name, target)
            time.sleep(1.0)
        raise RuntimeError(f"ironic: not every node reached {state} in time")

    def drive(self, n: int) -> dict[str, float]:
        """N nodes from enroll to active: the figures of the run."""
        cpu0, start = tree_cpu(self.process.pid), time.perf_counter()
        sampler = Sampler(lambda: node_states(self.base))
        names = [f"node-{i:05}" for i in range(n)]
        deadline = time.monotonic() + 4 * 3600
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self.enroll, names, range(n)))
            for target, state in (
                ("manage", "manageable"),
                ("provide", "available"),
                ("active", "active"),
            ):
                list(pool.map(self.move, names, [target] * n))
                self.wait_for(target, state, n, deadline)
        wall = time.perf_counter() - start
        cpu = tree_cpu(self.process.pid) - cpu0
        p99 = sampler.stop()
        rss = tree_rss_mib(self.process.pid)
        idle, resident = at_rest(self.process.pid, self.power_sync)  # one interval
        return {
            "wall": wall,
            "nodes_s": n / wall,
            "cpu_node": cpu / n,
            "rss": rss,
            "p99": p99,
            "idle_cpu": idle,
            "idle_rss": resident,
            "retried": float(sum(self.retries.values())),
        }


def _found(base: str, path: str) -> bool:
    try:
        answer = api(base, "GET", path)
    except RuntimeError as exc:
        if " 404 " in str(exc):
            return False
        raise
    return bool(answer.get("ports", True)) if isinstance(answer, dict) else True


def run(
    venv: Path, work: Path, n: int, hardware: Hardware | None, power_sync: int = POWER_SYNC
) -> dict[str, float]:
    ironic = Ironic(venv, work, hardware, power_sync)
    try:
        return ironic.drive(n)
    finally:
        ironic.stop()
