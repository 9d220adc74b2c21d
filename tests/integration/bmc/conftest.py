"""Fixtures: sushy-tools' emulator, wire-level Redfish mocks and an IPMI simulator, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.bmc import BMCTarget, Credentials, DriverSettings, Secret, make_driver
from strata.bmc.types import BMCDriver
from strata.lab.ports import free_port
from tests.support.redfish_emulator import USERNAME

ROOT = Path(__file__).resolve().parents[3]
# Short limits keep fault tests fast; each test states the bound it checks.
FAST = DriverSettings(
    connect_timeout=1.0,
    read_timeout=2.0,
    operation_timeout=15.0,
    power_timeout=3.0,
    poll_interval=0.05,
    attempts=2,
    retry_delay=0.05,
)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every library, DEBUG and up: secrets must not be in any."""
    caplog.set_level(logging.DEBUG)
    return caplog


def driver(
    address: str,
    password: str,
    *,
    node: str = "node-a",
    settings: DriverSettings = FAST,
    insecure: bool = False,
    ca_bundle: str | None = None,
    username: str = USERNAME,
) -> BMCDriver:
    """A driver for an address, built the way the pool builds one (minus the topology)."""
    from strata.topology.addresses import parse_bmc_address

    bmc = parse_bmc_address(address, None, None, insecure, ca_bundle)
    target = BMCTarget(
        node=node,
        address=bmc.address,
        protocol=bmc.protocol,
        host=bmc.host,
        port=bmc.port,
        system=bmc.system,
        insecure=insecure,
        ca_bundle=ca_bundle,
        privilege=bmc.privilege,
    )
    return make_driver(target, Credentials(username, Secret(password)), settings)


def free_udp_port() -> int:
    return free_port(udp=True)


class IPMISimulator:
    def __init__(self, port: int, process: subprocess.Popen[str]) -> None:
        self.port, self.process = port, process

    @property
    def address(self) -> str:
        return f"ipmi://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running_ipmi_simulator(password: str, *options: str) -> Iterator[IPMISimulator]:
    """pyghmi's BMC server class in its own process (tests/support/ipmi_simulator.py),
    with ``options`` such as ``--refuse-boot-param 3``; stopped by its PID."""
    port = free_udp_port()
    env = {**os.environ, "SIM_PASSWORD": password}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.ipmi_simulator",
            "--port",
            str(port),
            "--user",
            "admin",
            "--password-env",
            "SIM_PASSWORD",
            "--power-delay",
            "0.3",
            *options,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening"), line
        yield IPMISimulator(port, process)
    finally:
        process.terminate()
        process.wait(5)


@pytest.fixture
def ipmi_simulator(password: str) -> Iterator[IPMISimulator]:
    with running_ipmi_simulator(password) as simulator:
        yield simulator


def elapsed(start: float) -> float:
    return time.monotonic() - start
