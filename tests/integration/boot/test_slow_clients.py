"""`strata serve` under a 1,024 open-file limit keeps booting machines while 2,000 slow
clients hold connections, or 360 slow bodies from six addresses press
(bench/slow_clients.py, small)."""

from __future__ import annotations

import resource
import sqlite3
import tempfile
from pathlib import Path

import pytest

from bench.slow_clients import (
    BODY_PER_ADDRESS,
    PROBES,
    calm,
    events_path,
    start_serve,
    under_pressure,
    write_topology,
)
from strata.boot.limits import DEFAULT_LIMITS

OPEN_FILES = 1024
SLOW = 2000
SLOW_BODIES = 360  # six addresses
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


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[1] < SLOW_BODIES + 300,
    reason="the slow-body clients need 360 descriptors of their own",
)
def test_machines_and_a_prober_are_answered_while_360_slow_bodies_press() -> None:
    """Each slow-body client sends a whole phone-home head with a valid events token
    (the hardest case: only such a request waits for a body) declaring 60,000 bytes,
    then a byte a second, and reconnects at once when closed. Before, 59 of 60 probes
    got 503 and no machine booted."""
    assert SLOW_BODIES // BODY_PER_ADDRESS == 6
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        names = write_topology(directory, MACHINES + 1)  # the last: the attacker's token
        process, port = start_serve(directory, list(names), OPEN_FILES)
        macs = list(names.values())
        try:
            body = events_path(port, macs[-1])
            pressed = under_pressure(
                process.pid, port, SLOW_BODIES, macs[:MACHINES], body_path=body, probes=PROBES
            )
            assert process.poll() is None
        finally:
            process.terminate()
            process.wait(30)
        log = (directory / "serve.log").read_text()
        installed = _installed(directory / ".strata" / "strata.db")
    print(pressed.line())
    assert installed == set(list(names)[:MACHINES])  # every machine booted
    assert sum(pressed.probes.values()) == PROBES
    refused = PROBES - pressed.probes.get("200", 0)
    assert refused <= PROBES // 20, pressed.probes  # at worst a small share (before: 59)
    bound = DEFAULT_LIMITS.connection_budget(OPEN_FILES)
    assert pressed.closed_by_service >= SLOW_BODIES  # the slow bodies did press
    assert pressed.answers.get("408 Request Timeout", 0) >= SLOW_BODIES // 2
    assert pressed.peak_descriptors <= bound + DEFAULT_LIMITS.fd_reserve
    assert "Traceback" not in log and "Too many open files" not in log


def _installed(state: Path) -> set[str]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        return {n for (n,) in db.execute("SELECT node FROM events WHERE kind = 'installed'")}
