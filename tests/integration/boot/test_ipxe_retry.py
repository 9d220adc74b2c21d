"""Real iPXE (Debian's ipxe-qemu in QEMU) asks again while the boot service answers
503 — its state frozen by a move (``strata.boot.frozen``) — and boots once the freeze
is given back: ``/boot.ipxe``'s chain goes round its loop (``strata.boot.service.CHAIN``)."""

from __future__ import annotations

import time

from strata.store import SQLiteStore
from tests.integration.boot.test_qemu_ipxe import ASSETS, KNOWN, boot, qemu  # noqa: F401
from tests.support.boot_server import RunningServer

FROZEN = "strata pivot 1a2b: moving to cluster https://x namespace strata"


def test_ipxe_asks_again_while_a_move_holds_the_state(
    boot: tuple[RunningServer, SQLiteStore],  # noqa: F811
) -> None:
    server, store = boot
    store.acquire_writer(FROZEN, 600)
    machine = qemu(server.port, KNOWN)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # a third ask: the first two were refused
            if sum(p.startswith("/ipxe") for p in server.log.paths) >= 3:
                break
            time.sleep(0.2)
        assert [e.kind for e in store.events("lab-cp-0")] == []  # nothing written meanwhile
        store.release_writer(FROZEN)
        while time.monotonic() < deadline:
            if ASSETS + "flatcar_production_pxe_image.cpio.gz" in server.log.paths:
                break
            time.sleep(0.5)
    finally:
        machine.kill()
        machine.wait(10)
    paths = server.log.paths
    assert paths.count("/boot.ipxe") == 1, paths  # one DHCP boot, the retries in its script
    assert sum(p.startswith("/ipxe") for p in paths) >= 3, paths
    assert ASSETS + "flatcar_production_pxe_image.cpio.gz" in paths, paths
    # written once the freeze was given back (a refused write is no repeat's first)
    assert [e.kind for e in store.events("lab-cp-0")] == ["ipxe-fetched"]
