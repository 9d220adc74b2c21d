"""The controller's pure parts: a Topology object's findings located at its field
paths, spec.consent read and what is held said, conditions merged as metav1 says, a
plan cut to a replica's shards, and the health endpoints."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from strata.operator.conditions import condition, merged
from strata.operator.consent import Consent, consent_of, held_message
from strata.operator.findings import check_object
from strata.operator.health import HealthServer
from strata.operator.objects import topology_document
from strata.operator.sharded import shard_plan
from strata.operator.shards import shard_of
from strata.plan import ChangeKind, NodeChange, build_plan
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"


def lab_object() -> dict[str, Any]:
    document = yaml.safe_load(LAB.read_text())
    spec = {k: v for k, v in document.items() if k not in ("apiVersion", "kind", "metadata")}
    return {"metadata": {"name": "lab", "namespace": "ns", "generation": 1}, "spec": spec}


def test_a_valid_object_gives_the_topology_strata_validate_gives() -> None:
    obj = lab_object()
    obj["spec"]["consent"] = {"prune": True}  # not part of the document
    checked = check_object(obj)
    assert checked.errors == ()
    assert checked.topology is not None
    assert [n.name for n in checked.topology.nodes] == [n.name for n in load(LAB).nodes]
    assert "consent" not in topology_document(obj)


def test_findings_are_located_at_the_objects_field_paths() -> None:
    obj = lab_object()
    obj["spec"]["layers"][0]["distribution"]["version"] = "banana"
    obj["spec"]["unknownKey"] = 1
    checked = check_object(obj)
    assert checked.topology is None
    assert any(
        e.startswith("topologies/lab: spec.layers[0].distribution.version: ")
        for e in checked.errors
    )
    assert any(e.startswith("topologies/lab: spec.unknownKey: ") for e in checked.errors)
    assert not any(":1:" in e or "line" in e for e in checked.errors)  # no file positions


def test_a_finding_naming_another_line_names_the_field_there() -> None:
    obj = lab_object()
    nodes = obj["spec"]["regions"][0]["zones"][0]["racks"][0]["nodes"]
    nodes[1]["name"] = nodes[0]["name"]
    (error,) = check_object(obj).errors
    assert "line" not in error  # the object has no lines: the first definition's field
    assert error.endswith("is already defined (spec.regions[0].zones[0].racks[0].nodes[0].name)")


def test_consent_read_leniently_and_what_is_held_named_with_what_to_write() -> None:
    assert consent_of({"consent": {"allowReprovision": ["a", 3], "prune": True}}) == Consent(
        frozenset({"a"}), True
    )
    assert consent_of({"consent": "yes"}) == Consent()
    assert consent_of({}) == Consent()
    plan = build_plan(load(LAB))
    nodes = [n.name for n in plan.nodes]
    actions = (
        NodeChange(nodes[0], ChangeKind.REPROVISION, ("os",)),
        NodeChange(nodes[1], ChangeKind.DELETE),
    )
    held = held_message(plan.__class__(plan.topology, plan.nodes, (), actions), Consent(), {})
    assert held is not None
    assert f"reinstall of {nodes[0]} held: add them to spec.consent.allowReprovision" in held
    assert f"power-off of {nodes[1]} (removed) held: set spec.consent.prune: true" in held
    consented = Consent(frozenset({nodes[0]}), True)
    assert (
        held_message(plan.__class__(plan.topology, plan.nodes, (), actions), consented, {}) is None
    )


def test_a_condition_keeps_its_transition_time_while_its_status_stays() -> None:
    old = [{**condition("Ready", False, "NotReady", "x", 1), "lastTransitionTime": "then"}]
    same = merged(old, [condition("Ready", False, "NotReady", "y", 2)])
    assert same[0]["lastTransitionTime"] == "then" and same[0]["message"] == "y"
    flipped = merged(old, [condition("Ready", True, "AllServersReady", "z", 2)])
    assert flipped[0]["lastTransitionTime"] != "then"
    assert len(condition("Valid", False, "Invalid", "e" * 40_000, 1)["message"]) == 32_768


def test_a_plan_cut_to_shards_keeps_whole_racks_and_every_server_lands_in_one_shard() -> None:
    plan = build_plan(load(LAB))
    count = 3
    parts = [shard_plan(plan, {}, frozenset({i}), count) for i in range(count)]
    names = [p.name for part in parts for p in part.nodes]
    assert sorted(names) == sorted(p.name for p in plan.nodes)
    for i, part in enumerate(parts):
        assert all(shard_of(plan.topology, p.rack, count) == i for p in part.nodes)
        assert {a.node for a in part.actions} == {p.name for p in part.nodes}
        assert {r.name for r in part.racks} == {p.rack for p in part.nodes}
    assert shard_plan(plan, {}, frozenset(range(count)), count) == plan


def test_health_answers_ok_or_what_is_wrong() -> None:
    problem: list[str | None] = ["Topology objects not listed yet"]
    server = HealthServer("127.0.0.1", 0, lambda: None, lambda: problem[0])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert urllib.request.urlopen(f"{base}/healthz").read() == b"ok\n"
        try:
            urllib.request.urlopen(f"{base}/readyz")
            raise AssertionError("503 expected")
        except urllib.error.HTTPError as err:
            assert err.code == 503 and err.read() == b"Topology objects not listed yet\n"
        problem[0] = None
        assert urllib.request.urlopen(f"{base}/readyz").status == 200
    finally:
        server.stop()
