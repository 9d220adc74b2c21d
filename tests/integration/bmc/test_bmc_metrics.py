"""Every BMC operation is counted for the web face (strata.web.metrics.BMCMetrics): by
operation and result, with its seconds, as sushy-tools' emulator and a closed port
answer the Redfish driver."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from strata.bmc import BMCError, PowerAction
from strata.lab.ports import free_port
from strata.web.metrics import BMCMetrics
from tests.integration.bmc.conftest import FAST, driver
from tests.support.promtool import promtool_check
from tests.support.redfish_emulator import Emulator


def test_operations_are_counted_by_result(emulator: Emulator, password: str) -> None:
    registry = CollectorRegistry()
    settings = dataclasses.replace(FAST, observe=BMCMetrics(registry).observe)
    system = emulator.take()[0]
    bmc = driver(f"{emulator.url}{system.path}", password, settings=settings)
    bmc.power_state()
    bmc.power(PowerAction.ON)
    closed = driver(
        f"redfish+http://127.0.0.1:{free_port()}/redfish/v1/Systems/x", password, settings=settings
    )
    with pytest.raises(BMCError):
        closed.power_state()
    wrong = driver(f"{emulator.url}{system.path}", "not-the-password", settings=settings)
    with pytest.raises(BMCError):
        wrong.power_state()
    exposition = generate_latest(registry)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition.decode())
        for s in family.samples
    }

    def calls(operation: str, result: str) -> float:
        key = ("strata_bmc_calls_total", (("operation", operation), ("result", result)))
        return samples.get(key, 0.0)

    assert calls("power state", "ok") >= 1 and calls("power on", "ok") == 1
    assert calls("power state", "unreachable") == 1
    assert calls("power state", "authentication-failed") == 1
    seconds = samples[("strata_bmc_call_duration_seconds_count", (("operation", "power on"),))]
    assert seconds == 1
    assert password.encode() not in exposition
    promtool_check(exposition)
