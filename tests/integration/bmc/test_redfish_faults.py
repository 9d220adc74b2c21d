"""Faults, injected through a real HTTP server: each gives its error class, in bounded time,
and the password appears in no message and no log record."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from strata.bmc import (
    AuthenticationFailed,
    BMCError,
    BMCFault,
    PowerAction,
    TimedOut,
    Unreachable,
)
from tests.integration.bmc.conftest import FAST, driver, elapsed
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_mock import RedfishMock
from tests.support.redfish_vendors import VENDORS, build_vendor

VENDOR = VENDORS["hpe-ilo5"]
# FAST allows 2 attempts of at most read_timeout (2 s) each, plus backoff.
BOUND = 2 * FAST.read_timeout + 2.0


@pytest.fixture
def bmc_server(password: str) -> Iterator[Callable[..., RedfishMock]]:
    started: list[RedfishMock] = []

    def start(fault: str | None = None, settles: bool = True) -> RedfishMock:
        mock = build_vendor(VENDOR, USERNAME, password, settles=settles)
        mock.fault = fault
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()


def url(mock: RedfishMock) -> str:
    return f"redfish+http://127.0.0.1:{mock.port}{VENDOR.system}"


def fails(
    call: Callable[[], object], kind: type[BMCError], password: str, logs: pytest.LogCaptureFixture
) -> BMCError:
    start = time.monotonic()
    with pytest.raises(kind) as caught:
        call()
    assert elapsed(start) < BOUND, f"{kind.__name__} took {elapsed(start):.1f} s"
    error = caught.value
    assert error.node == "node-f"
    assert password not in str(error) and password not in str(error.as_json())
    assert password not in logs.text
    return error


def test_bmc_down(password: str, all_logs: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    bmc = driver(f"redfish+http://127.0.0.1:{port}/redfish/v1/Systems/1", password, node="node-f")
    error = fails(bmc.power_state, Unreachable, password, all_logs)
    assert "no answer from the BMC" in str(error)


def test_bmc_hanging(
    bmc_server: Callable[..., RedfishMock], password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    mock = bmc_server(fault="hang")
    error = fails(
        driver(url(mock), password, node="node-f").power_state, TimedOut, password, all_logs
    )
    assert "did not answer in time" in str(error)


def test_bmc_answering_500(
    bmc_server: Callable[..., RedfishMock], password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    mock = bmc_server(fault="error500")
    error = fails(
        driver(url(mock), password, node="node-f").power_state, BMCFault, password, all_logs
    )
    assert "HTTP 500" in str(error) and "the BMC's web server crashed" in str(error)
    assert error.transient
    assert "bmc retry" in all_logs.text  # a transient fault is retried


def test_wrong_password(
    bmc_server: Callable[..., RedfishMock], password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    mock = bmc_server()
    mock.password = "the-right-one"
    error = fails(
        driver(url(mock), password, node="node-f").power_state,
        AuthenticationFailed,
        password,
        all_logs,
    )
    assert "refused the credentials" in str(error)
    assert "bmc retry" not in all_logs.text  # never retried: retries lock accounts
    logins = [r for r in mock.requests if r.method == "POST" and r.path.endswith("/Sessions")]
    assert len(logins) == 1


def test_malformed_json(
    bmc_server: Callable[..., RedfishMock], password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    mock = bmc_server(fault="malformed")
    error = fails(
        driver(url(mock), password, node="node-f").power_state, BMCFault, password, all_logs
    )
    assert "not valid Redfish JSON" in str(error)


def test_power_that_never_settles(
    bmc_server: Callable[..., RedfishMock], password: str, all_logs: pytest.LogCaptureFixture
) -> None:
    mock = bmc_server(settles=False)
    bmc = driver(url(mock), password, node="node-f")
    start = time.monotonic()
    with pytest.raises(TimedOut) as caught:
        bmc.power(PowerAction.ON)
    assert FAST.power_timeout - 0.5 < elapsed(start) < FAST.power_timeout * FAST.attempts + 2
    assert "did not reach on within 3 s (last: off)" in str(caught.value)
    assert password not in str(caught.value) and password not in all_logs.text
    resets = [r for r in mock.requests if r.path.endswith("ComputerSystem.Reset")]
    assert resets and resets[0].body == {"ResetType": "On"}
