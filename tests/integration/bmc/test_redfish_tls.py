"""TLS to a Redfish BMC: verified by default, a CA bundle trusted on request, and an explicit
per-BMC insecure opt-in that is warned about once."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.bmc import PowerState, Unreachable
from tests.integration.bmc.conftest import driver
from tests.support.pki import make_ca_and_server
from tests.support.redfish_emulator import Emulator


@pytest.fixture(scope="module")
def tls(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    ca, cert, key = make_ca_and_server(tmp_path_factory.mktemp("pki"))
    return emulator.serve_tls(cert, key), ca


def https(port: int, emulator: Emulator) -> str:
    return f"redfish://127.0.0.1:{port}{emulator.take()[0].path}"


def test_an_untrusted_certificate_is_refused_with_a_way_out(
    emulator: Emulator, password: str, tls: tuple[int, Path]
) -> None:
    port, _ = tls
    with pytest.raises(Unreachable) as caught:
        driver(https(port, emulator), password).power_state()
    assert "certificate is not trusted" in str(caught.value)
    assert "bmc.caBundle" in str(caught.value) and "bmc.insecure" in str(caught.value)


def test_a_ca_bundle_makes_it_trusted(
    emulator: Emulator, password: str, tls: tuple[int, Path]
) -> None:
    port, ca = tls
    bmc = driver(https(port, emulator), password, ca_bundle=str(ca))
    assert bmc.power_state() is PowerState.OFF


def test_insecure_works_and_is_warned_about_once(
    emulator: Emulator, password: str, tls: tuple[int, Path], caplog: pytest.LogCaptureFixture
) -> None:
    port, _ = tls
    address = https(port, emulator)
    for _ in range(3):
        bmc = driver(address, password, insecure=True)
        assert bmc.power_state() is PowerState.OFF
    warnings = [r for r in caplog.records if "tls verification disabled" in r.getMessage()]
    assert len(warnings) == 1
    assert address in warnings[0].getMessage()
