"""Real iPXE firmware (Debian's ipxe-qemu) in QEMU network-boots against the boot service.

QEMU's user network hands out the boot file URL (``bootfile=``); the host's
127.0.0.1 is 10.0.2.2 inside. A machine whose MAC is in topology.yaml and
being provisioned gets its own install script and fetches its kernel and
initramfs; a machine nobody declared is recorded and gets nothing to install.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.boot_server import RunningServer, free_port
from tests.support.machines import qemu_command

ROOT = Path(__file__).resolve().parents[3]
ASSETS = "/assets/flatcar/4081.2.0/"
KNOWN, UNKNOWN = "52:54:00:10:00:01", "52:54:00:77:77:77"  # lab-cp-0, and no one


@pytest.fixture
def boot(tmp_path: Path) -> Iterator[tuple[RunningServer, SQLiteStore]]:
    mirror = tmp_path / "mirror" / "flatcar" / "4081.2.0"
    mirror.mkdir(parents=True)
    for name in ("flatcar_production_pxe.vmlinuz", "flatcar_production_pxe_image.cpio.gz"):
        (mirror / name).write_bytes(
            b"not a real kernel " * 64
        )  # iPXE fetches it, then cannot boot it
    store = SQLiteStore(tmp_path / "strata.db")
    store.begin_attempt("lab-cp-0", lifetime=3600)
    port = free_port()
    content = BootContent(
        build_plan(load(ROOT / "examples/lab/topology.yaml")),
        f"http://10.0.2.2:{port}",  # the host, as QEMU's user network shows it to the guest
        TokenSigner(store.token_key()),
    )
    server = RunningServer(BootService(content, store, AssetIndex(tmp_path / "mirror")).app, port)
    yield server, store
    server.stop()


def qemu(port: int, mac: str) -> subprocess.Popen[bytes]:
    netdev = f"user,id=n0,bootfile=http://10.0.2.2:{port}/boot.ipxe"
    return subprocess.Popen(
        qemu_command(netdev, mac), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_ipxe_gets_its_own_script_and_an_unknown_machine_gets_none(
    boot: tuple[RunningServer, SQLiteStore], tmp_path: Path
) -> None:
    server, store = boot
    machines = [qemu(server.port, mac) for mac in (KNOWN, UNKNOWN)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            kernel_fetched = ASSETS + "flatcar_production_pxe_image.cpio.gz" in server.log.paths
            if kernel_fetched and store.unknown_machines():
                break
            time.sleep(0.5)
    finally:
        for machine in machines:
            machine.kill()
            machine.wait(10)
    paths = server.log.paths
    assert paths.count("/boot.ipxe") == 2, paths
    assert ASSETS + "flatcar_production_pxe.vmlinuz" in paths, paths
    assert ASSETS + "flatcar_production_pxe_image.cpio.gz" in paths, paths
    [fetched] = [e for e in store.events("lab-cp-0") if e.kind == "ipxe-fetched"]
    assert fetched.detail["mac"] == KNOWN
    [stranger] = store.unknown_machines()
    assert stranger["mac"] == UNKNOWN and stranger["uuid"]
    assert [e for e in store.events("lab-worker-0")] == []
