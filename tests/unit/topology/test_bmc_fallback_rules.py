"""bmc.fallback: a second address of a node's BMC, checked as its first is (located
errors, one BMC however spelled, its credentials by name) and carried into the plan."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strata.plan import build_plan, diff, node_plan_from_jsonable, to_jsonable
from strata.topology import check_text
from strata.topology.diagnostics import format_path
from tests.unit.topology.test_rule_findings import BASE, N1, at, dump, findings

FALLBACK = "regions[0].zones[0].racks[0].nodes[1].bmc.fallback"


def _fallback(value: dict[str, Any]) -> Callable[[Any], None]:
    def edit(doc: dict[str, Any]) -> None:
        at(doc, N1)["bmc"]["fallback"] = value

    return edit


def _errors(edit: Callable[[Any], None]) -> list[tuple[str, str]]:
    return [(p, m.split(" (line ")[0]) for s, p, m in findings(edit) if s == "error"]


def _plan(value: dict[str, Any]) -> Any:
    doc = copy.deepcopy(BASE)
    _fallback(value)(doc)
    checked = check_text(dump(doc), "t.yaml")
    assert checked.topology is not None, [d.message for d in checked.errors]
    return build_plan(checked.topology)


def test_a_fallback_takes_the_nodes_credentials_unless_it_names_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PW", "pw")
    node = _plan({"address": "ipmi://10.0.0.21"}).nodes[1]
    assert node.bmc_fallback is not None
    assert (node.bmc_fallback.address, node.bmc_fallback.credentials) == ("ipmi://10.0.0.21", "c1")
    assert node.bmc_address == "redfish://10.0.0.11/redfish/v1/Systems/1"  # the first, first
    back = node_plan_from_jsonable(to_jsonable(node))
    assert back == node  # as the store keeps it


def test_a_changed_fallback_is_an_update_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW", "pw")
    before = _plan({"address": "ipmi://10.0.0.21"}).nodes[1]
    after = _plan({"address": "ipmi://10.0.0.22"}).nodes[1]
    (change,) = diff([after], {after.name: before})
    assert (change.kind.value, change.changed) == ("update", ("bmc_fallback",))


def test_unknown_fallback_credentials_are_located() -> None:
    edit = _fallback({"address": "ipmi://10.0.0.21", "credentials": "c2"})
    assert _errors(edit) == [(f"{FALLBACK}.credentials", "unknown credentials 'c2'")]


def test_a_fallback_address_without_its_scheme_is_located() -> None:
    ((path, message),) = _errors(_fallback({"address": "10.0.0.21"}))
    assert path == f"{FALLBACK}.address" and message.startswith("n1: ")


@pytest.mark.parametrize(
    ("address", "owner"),
    [
        ("ipmi://10.0.0.10", None),  # n0's own IPMI: free
        ("redfish://10.0.0.10:443/redfish/v1/Systems/1", "n0"),  # n0's Redfish, spelled out
        ("redfish://10.0.0.11/redfish/v1/Systems/1/", "n1"),  # its own first address
    ],
)
def test_a_fallback_is_one_bmc_with_every_other_address(address: str, owner: str | None) -> None:
    errors = _errors(_fallback({"address": address}))
    if owner is None:
        assert errors == []
    else:
        assert errors == [
            (f"{FALLBACK}.address", f"BMC {address} of node n1 is already used by node {owner}")
        ]


def test_a_fallback_outside_the_bmc_networks_is_warned_about_where_it_is_written() -> None:
    warned = [
        p for s, p, m in findings(_fallback({"address": "ipmi://192.0.2.7"})) if s == "warning"
    ]
    assert f"{FALLBACK}.address" in warned


def test_plan_output_shows_both_addresses_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from rich.console import Console

    from strata.cli.render import plan_tables

    monkeypatch.setenv("PW", "pw")
    out = StringIO()
    plan_tables(Console(file=out, width=300), _plan({"address": "ipmi://10.0.0.21"}))
    assert "redfish://10.0.0.11/redfish/v1/Systems/1 → ipmi://10.0.0.21" in out.getvalue()


def test_a_fallbacks_ca_bundle_is_checked_as_the_first_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At validate (the file is there and is a bundle), and refused on its way to a
    cluster, which has no directory to read it from."""
    from strata.operator.portable import portable

    monkeypatch.setenv("PW", "pw")
    doc = copy.deepcopy(BASE)
    fallback = "redfish://10.0.0.21/redfish/v1/Systems/1"
    _fallback({"address": fallback, "caBundle": "missing-ca.pem"})(doc)
    checked = check_text(dump(doc), "t.yaml", base_dir=tmp_path)
    assert [(format_path(d.path), d.message) for d in checked.errors] == [
        (f"{FALLBACK}.caBundle", "CA bundle 'missing-ca.pem' does not exist")
    ]
    _, refusals = portable(doc, tmp_path)
    assert [".".join(map(str, r.path)) for r in refusals] == [
        "regions.0.zones.0.racks.0.nodes.1.bmc.fallback.caBundle"
    ]
