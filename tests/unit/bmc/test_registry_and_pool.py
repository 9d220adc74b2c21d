"""Address schemes map to drivers; the pool opens each BMC once and shares a guard per endpoint."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from strata.bmc import BMCPool, Capability, CredentialsUnavailable, supports, target_for
from strata.bmc.errors import FileRefused, redact
from strata.bmc.ipmi import IPMIDriver
from strata.bmc.redfish import RedfishDriver
from strata.bmc.registry import DRIVERS
from strata.plan import build_plan
from strata.topology import load
from strata.topology.addresses import BMC_SCHEMES, parse_bmc_address
from strata.topology.named_files import ALLOWED_DIRS_ENV
from tests.unit.topology.named import certificate_pem

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


def test_every_address_scheme_has_a_driver() -> None:
    assert set(DRIVERS) == set(BMC_SCHEMES)
    assert DRIVERS["ipmi"] is IPMIDriver
    assert {DRIVERS[s] for s in BMC_SCHEMES if s != "ipmi"} == {RedfishDriver}


def test_capabilities() -> None:
    assert supports("redfish-virtualmedia", Capability.VIRTUAL_MEDIA)
    assert not supports("ipmi", Capability.VIRTUAL_MEDIA)
    assert supports("ipmi", Capability.POWER)


def test_target_resolves_a_relative_ca_bundle(tmp_path: Path) -> None:
    node = next(n for n in load(LAB).nodes if n.name == "lab-worker-1")  # a Redfish BMC
    target = target_for(node.name, node.bmc, tmp_path)
    assert (target.node, target.host, target.system) == (
        "lab-worker-1",
        "192.168.100.13",
        "/redfish/v1/Systems/lab-worker-1",
    )
    assert target.insecure is True


def test_a_ca_bundle_is_checked_and_handed_over_by_its_real_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(certificate_pem())
    (tmp_path / "ca.pem").symlink_to("certs/ca.pem")
    bmc = parse_bmc_address("redfish://10.0.0.5", None, None, False, "ca.pem")
    assert target_for("n1", bmc, tmp_path).ca_bundle == str(tmp_path / "certs" / "ca.pem")


@pytest.mark.parametrize("bundle", ["/etc/ssl/certs/../../shadow", "/dev/zero", "fifo", "junk"])
def test_a_ca_bundle_that_may_not_be_used_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "junk").write_text("not a certificate\n")
    bmc = parse_bmc_address("redfish://10.0.0.5", None, None, False, bundle)
    with pytest.raises(FileRefused, match=re.escape("node n1, BMC redfish://10.0.0.5: CA bundle")):
        target_for("n1", bmc, tmp_path)


def test_the_pool_opens_each_bmc_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", "pw")
    with BMCPool(load(LAB)) as pool:
        first = pool.driver("lab-cp-0")
        assert pool.driver("lab-cp-0") is first
        assert pool.driver("lab-worker-0") is not first


def test_the_pool_names_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRATA_LAB_BMC_PASSWORD", raising=False)
    with BMCPool(load(LAB)) as pool, pytest.raises(CredentialsUnavailable) as caught:
        pool.driver("lab-cp-0")
    assert "node lab-cp-0" in str(caught.value)
    assert "STRATA_LAB_BMC_PASSWORD is not set" in str(caught.value)


def test_redact() -> None:
    assert redact("login hunter2 failed for hunter2", ["hunter2", ""]) == "login *** failed for ***"


def test_nodes_behind_one_bmc_endpoint_share_its_queue(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A blade chassis: one BMC, several systems; its operations must still run one at a time."""
    text = re.sub(r"redfish://192\.168\.100\.1[23]/", "redfish://192.168.100.12/", LAB.read_text())
    chassis = tmp_path / "topology.yaml"
    chassis.write_text(text)
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", "pw")
    with BMCPool(load(chassis)) as pool:
        guards = {id(pool.driver(n)._guard) for n in ("lab-worker-0", "lab-worker-1")}  # type: ignore[attr-defined]
        ipmi = pool.driver("lab-cp-0")._guard  # type: ignore[attr-defined]  # its own BMC
    assert len(guards) == 1 and id(ipmi) not in guards
    with BMCPool(load(LAB)) as pool:
        guards = {id(pool.driver(n)._guard) for n in ("lab-cp-0", "lab-worker-0", "lab-worker-1")}  # type: ignore[attr-defined]
    assert len(guards) == 3


def test_a_nodes_fallback_bmc_is_a_driver_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """lab-cp-0: Redfish first, IPMI as its fallback (examples/lab)."""
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", "pw")
    topology = load(LAB)
    plan = next(n for n in build_plan(topology).nodes if n.name == "lab-cp-0")
    with BMCPool(topology) as pool:
        first, fallback = pool.driver_for(plan), pool.driver_for(plan.through_fallback())
        assert isinstance(first, RedfishDriver) and isinstance(fallback, IPMIDriver)
        assert fallback.target.address == "ipmi://192.168.100.11:623"
        assert pool.driver_for(plan.through_fallback()) is fallback  # opened once
        assert pool.driver_for(plan) is first
