"""`strata serve` under a 1,024 open-file limit keeps booting machines while 2,000 slow
clients hold connections (bench/slow_clients.py, small)."""

from __future__ import annotations

import resource
import sqlite3
import tempfile
from pathlib import Path

import pytest

from bench.slow_clients import calm, start_serve, under_pressure, write_topology
from strata.boot.limits import DEFAULT_LIMITS

OPEN_FILES = 1024
SLOW = 2000
MACHINES = 10


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[1] < SLOW + 300,
    reason="the slow clients need 2,000 descriptors of their own",
)
def test_machines_boot_while_2000_slow_clients_press() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        names = write_topology(directory, 2 * MACHINES)
        process, port = start_serve(directory, list(names), OPEN_FILES)
        macs = list(names.values())
        try:
            quiet = calm(process.pid, port, macs[:MACHINES])
            pressed = under_pressure(process.pid, port, SLOW, macs[MACHINES:])
            assert process.poll() is None
        finally:
            process.terminate()
            process.wait(30)
        log = (directory / "serve.log").read_text()
        installed = _installed(directory / ".strata" / "strata.db")
    print(quiet.line())
    print(pressed.line())
    assert installed == set(names)  # every machine, with or without the slow clients
    bound = DEFAULT_LIMITS.connection_budget(OPEN_FILES)
    assert f"up to {bound} connections" in log
    assert pressed.closed_by_service >= SLOW // 2  # the slow clients did press
    assert pressed.peak_descriptors <= bound + DEFAULT_LIMITS.fd_reserve
    assert "Traceback" not in log and "Too many open files" not in log


def _installed(state: Path) -> set[str]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        return {n for (n,) in db.execute("SELECT node FROM events WHERE kind = 'installed'")}
