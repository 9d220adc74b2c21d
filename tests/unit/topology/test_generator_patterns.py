"""Generators: the pattern language, and entries expanded into nodes and racks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from strata.topology import check_text
from strata.topology.diagnostics import format_path
from strata.topology.templates import Context, PatternError, compile_pattern
from tests.unit.topology.test_rule_findings import BASE, dump


@pytest.mark.parametrize(
    ("pattern", "ctx", "expected"),
    [
        ("n{index}", Context(7, None, 0), "n7"),
        ("n{index:03}", Context(7, None, 0), "n007"),
        ("r{rack:02}-n{index:02}", Context(3, 12, 0), "r12-n03"),
        ("{ip:10.0.0.254}", Context(None, None, 3), "10.0.1.1"),  # crosses an octet
        ("{ip:2001:db8::ff}", Context(None, None, 1), "2001:db8::100"),
        ("{mac:52:54:00:00:00:ff}", Context(None, None, 2), "52:54:00:00:01:01"),  # carries
        ("{{literal}}-{index}", Context(1, None, 0), "{literal}-1"),
    ],
)
def test_patterns_render(pattern: str, ctx: Context, expected: str) -> None:
    assert compile_pattern(pattern).render(ctx) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{name}", "unknown placeholder {name}"),
        ("{index:x}", "the width must be digits"),
        ("{ip:nope}", "'nope' is not an IP address"),
        ("{mac:1:2}", "'1:2' is not a MAC address"),
        ("open {", "unbalanced"),
    ],
)
def test_bad_patterns(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message.replace("{", r"\{").replace("}", r"\}")):
        compile_pattern(pattern)


def test_running_past_the_end_of_the_address_space() -> None:
    with pytest.raises(PatternError, match="runs past the last address"):
        compile_pattern("{ip:255.255.255.255}").render(Context(None, None, 1))
    with pytest.raises(PatternError, match=r"\{index\} is only available in a generated node"):
        compile_pattern("n{index}").render(Context(None, None, 0))


def generated(count: int, racks: int | None = None, start: int = 1) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    rack = doc["regions"][0]["zones"][0]["racks"][0]
    rack["nodes"] = [
        {
            "name": "cp",
            "role": "control-plane",
            "bmc": {"address": "redfish://10.0.0.250/redfish/v1/Systems/1"},
            "nics": [{"mac": "52:54:00:ff:00:01", "network": "prov", "ip": "10.1.0.250"}],
        },
        {
            "name": "w{index:02}" if racks is None else "r{rack}-w{index:02}",
            "generate": {"count": count, "start": start},
            "bmc": {"address": "redfish://{ip:10.0.0.20}/redfish/v1/Systems/1"},
            "nics": [{"mac": "{mac:52:54:00:01:00:00}", "network": "prov", "ip": "{ip:10.1.0.20}"}],
        },
    ]
    rack["switches"] = []
    if racks is not None:
        rack["name"] = "rack{rack}"
        rack["generate"] = {"count": racks}
        rack["nodes"][0]["name"] = "r{rack}-cp"
        rack["nodes"][0]["bmc"]["address"] = "redfish://{ip:10.0.0.240}/redfish/v1/Systems/1"
        rack["nodes"][0]["nics"][0] = {
            "mac": "{mac:52:54:00:ff:00:01}",
            "network": "prov",
            "ip": "{ip:10.1.0.240}",
        }
    return doc


def test_a_node_generator() -> None:
    topology = check_text(dump(generated(5, start=3)), "g.yaml").topology
    assert topology is not None
    workers = [n for n in topology.nodes if n.name != "cp"]
    assert [n.name for n in workers] == ["w03", "w04", "w05", "w06", "w07"]
    assert [str(n.nics[0].ip) for n in workers] == [f"10.1.0.{i}" for i in range(20, 25)]
    assert [n.nics[0].mac for n in workers][-1] == "52:54:00:01:00:04"
    assert workers[-1].bmc.host == "10.0.0.24"


def test_generated_racks_continue_offsets_across_racks() -> None:
    checked = check_text(dump(generated(4, racks=3)), "g.yaml")
    assert [d.render() for d in checked.diagnostics if str(d.severity) == "error"] == []
    topology = checked.topology
    assert topology is not None
    assert [r.name for r in topology.racks] == ["rack1", "rack2", "rack3"]
    workers = [n for n in topology.nodes if "-w" in n.name]
    assert [n.name for n in workers[:5]] == ["r1-w01", "r1-w02", "r1-w03", "r1-w04", "r2-w01"]
    assert str(workers[4].nics[0].ip) == "10.1.0.24"  # rack offset 1 x count 4 + node offset 0
    assert len({n.nics[0].mac for n in workers}) == 12
    assert [n.rack for n in topology.nodes if n.name.endswith("-cp")] == ["rack1", "rack2", "rack3"]


def test_a_generator_colliding_with_a_node_is_reported_at_the_entry() -> None:
    doc = generated(5)
    doc["regions"][0]["zones"][0]["racks"][0]["nodes"][0]["nics"][0]["ip"] = "10.1.0.22"
    [error] = check_text(dump(doc), "g.yaml").errors
    assert format_path(error.path) == "regions[0].zones[0].racks[0].nodes[1].nics[0].ip"
    assert error.message.startswith(
        "IP address 10.1.0.22 of node w03 is already used by node cp (line "
    )


def test_a_bad_pattern_is_reported_once_at_its_field() -> None:
    doc = generated(50)
    doc["regions"][0]["zones"][0]["racks"][0]["nodes"][1]["nics"][0]["mac"] = "{mac:zz}"
    errors = [(format_path(d.path), d.message) for d in check_text(dump(doc), "g.yaml").errors]
    assert errors == [
        ("regions[0].zones[0].racks[0].nodes[1].nics[0].mac", "{mac:zz}: 'zz' is not a MAC address")
    ]


def test_index_outside_a_generator_and_names_that_are_not_labels() -> None:
    doc = copy.deepcopy(BASE)
    doc["regions"][0]["zones"][0]["racks"][0]["nodes"][1]["name"] = "n{index}"
    [error] = check_text(dump(doc), "g.yaml").errors
    assert error.message == "{index} is only available in a generated node"
    doc = generated(2)
    doc["regions"][0]["zones"][0]["racks"][0]["nodes"][1]["name"] = "W{index}"
    [error] = check_text(dump(doc), "g.yaml").errors
    assert error.message == "'W1' is not a valid name (generated item #1)"
