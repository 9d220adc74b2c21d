"""Golden tests pin the plan of each example; diff tests pin the action rules."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from strata.plan import ChangeKind, NodePlan, build_plan, diff, to_jsonable
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("STRATA_UPDATE_GOLDEN") == "1"


def _golden(name: str, value: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text(), (
        f"plan changed; if intended: STRATA_UPDATE_GOLDEN=1 pytest {__file__}"
    )


def _digest(plan_json: dict[str, Any]) -> dict[str, Any]:
    """A big plan in brief: per-rack counts plus the first and last node in full."""
    racks: dict[str, int] = {}
    for node in plan_json["nodes"]:
        key = f"{node['region']}/{node['zone']}/{node['rack']}"
        racks[key] = racks.get(key, 0) + 1
    clusters = [{**c, "workers": len(c["workers"])} for c in plan_json["clusters"]]
    return {
        "clusters": clusters,
        "racks": racks,
        "first": plan_json["nodes"][0],
        "last": plan_json["nodes"][-1],
    }


def test_lab_plan_golden() -> None:
    _golden("lab.json", to_jsonable(build_plan(load(ROOT / "examples/lab/topology.yaml"))))


@pytest.mark.parametrize("example", ["midsize", "hyperscale"])
def test_big_plan_golden(example: str) -> None:
    plan = to_jsonable(build_plan(load(ROOT / f"examples/{example}/topology.yaml")))
    _golden(f"{example}.json", _digest(plan))


def test_every_node_is_created_when_nothing_is_recorded() -> None:
    plan = build_plan(load(ROOT / "examples/midsize/topology.yaml"))
    assert {a.kind for a in plan.actions} == {ChangeKind.CREATE}
    assert len(plan.actions) == len(plan.nodes) == 393


def test_plan_carries_no_secret() -> None:
    os.environ["STRATA_LAB_BMC_PASSWORD"] = "s3cret-never-shown"
    text = json.dumps(to_jsonable(build_plan(load(ROOT / "examples/lab/topology.yaml"))))
    assert "s3cret-never-shown" not in text
    assert '"bmc_credentials": "lab-bmc"' in text


@pytest.fixture
def lab() -> tuple[NodePlan, ...]:
    return build_plan(load(ROOT / "examples/lab/topology.yaml")).nodes


def test_diff_unchanged(lab: tuple[NodePlan, ...]) -> None:
    actions = diff(lab, {n.name: n for n in lab})
    assert {a.kind for a in actions} == {ChangeKind.UNCHANGED}
    assert not any(a.destructive for a in actions)


def test_diff_label_change_is_an_update(lab: tuple[NodePlan, ...]) -> None:
    recorded = {n.name: n for n in lab}
    changed = dataclasses.replace(lab[0], labels={**lab[0].labels, "team": "a"})
    actions = {a.node: a for a in diff((changed, *lab[1:]), recorded)}
    assert actions[changed.name].kind is ChangeKind.UPDATE
    assert actions[changed.name].changed == ("labels",)
    assert not actions[changed.name].destructive


@pytest.mark.parametrize("field", ["os_version", "install_disk", "ssh_keys", "layer"])
def test_diff_reinstalling_change_is_destructive(lab: tuple[NodePlan, ...], field: str) -> None:
    recorded = {n.name: n for n in lab}
    value: Any = ("ssh-ed25519 AAAA new",) if field == "ssh_keys" else "changed"
    changed = dataclasses.replace(lab[1], **{field: value})
    action = {a.node: a for a in diff((lab[0], changed, lab[2]), recorded)}[changed.name]
    assert action.kind is ChangeKind.REPROVISION
    assert action.destructive
    assert field in action.changed


def test_diff_removed_node_is_a_destructive_delete(lab: tuple[NodePlan, ...]) -> None:
    actions = diff(lab[:2], {n.name: n for n in lab})
    deleted = [a for a in actions if a.kind is ChangeKind.DELETE]
    assert [a.node for a in deleted] == [lab[2].name]
    assert deleted[0].destructive
