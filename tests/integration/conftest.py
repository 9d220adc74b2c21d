"""Fixtures every integration test may share: one sushy-tools emulator per session.

sushy-tools' emulator is a process-wide Flask app, so there is one for the whole
session, holding enough systems for every test (``emulator.take(n)`` hands out
fresh ones) and the lab example's three servers, by name.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.topology import load
from tests.support.redfish_emulator import Emulator, start_emulator

SYSTEMS = 320
LAB = Path(__file__).resolve().parents[2] / "examples" / "lab" / "topology.yaml"


@pytest.fixture(scope="session")
def password() -> str:
    """A fresh password per run, so a grep for it means something."""
    return "pw-" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory, password: str) -> Iterator[Emulator]:
    lab = [(n.name, n.boot_mac) for n in load(LAB).nodes]
    running = start_emulator(tmp_path_factory.mktemp("sushy-emulator"), SYSTEMS, password, lab)
    yield running
    running.stop()
