"""Where a Topology stands (``strata.operator.assess``): Progressing is True only while
the controller has work it can do — a settled Topology, a server waiting for consent or
a failed one is not progress — and a found-running server (its Server object deleted,
or installed by someone else) is offered adoption before reinstall."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from strata.operator.assess import assess, pending
from strata.operator.consent import Consent, held_message, unknown_nodes
from strata.plan import ChangeKind, NodeChange, Plan, build_plan
from strata.store import NodeSummary
from strata.topology import load

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


def _plan(*changes: ChangeKind) -> Plan:
    plan = build_plan(load(LAB))
    kinds = [*changes, *[ChangeKind.UNCHANGED] * len(plan.nodes)][: len(plan.nodes)]
    actions = tuple(NodeChange(p.name, k) for p, k in zip(plan.nodes, kinds, strict=True))
    return dataclasses.replace(plan, actions=actions)


def _records(plan: Plan, *states: str) -> dict[str, NodeSummary]:
    chosen = [*states, *["provisioned"] * len(plan.nodes)][: len(plan.nodes)]
    return {
        p.name: NodeSummary(p.name, s, None, None, 0.0, p.layer, "r", "z", p.rack)
        for p, s in zip(plan.nodes, chosen, strict=True)
    }


def test_a_settled_topology_is_ready_and_not_progressing() -> None:
    plan = _plan()
    seen = assess(plan, _records(plan), Consent(), "provisioned")
    assert seen.ready and seen.done and seen.reason == "AllServersReady"
    assert not pending(plan, Consent())


def test_work_left_is_progress_and_a_failed_server_is_not() -> None:
    plan = _plan(ChangeKind.CREATE)
    assert pending(plan, Consent())
    installing = assess(plan, _records(plan, "installing"), Consent(), "provisioned")
    assert not installing.done and not installing.ready
    failed = assess(plan, _records(plan, "failed"), Consent(), "provisioned")
    assert failed.done and not failed.ready and failed.failed.startswith(plan.nodes[0].name)
    kept = assess(plan, _records(plan, "maintenance"), Consent(), "provisioned")
    assert kept.done and not kept.ready and not kept.failed  # a person's hands: not a failure


def test_a_server_waiting_for_consent_is_not_progress() -> None:
    plan = _plan(ChangeKind.ADOPT_OR_REINSTALL)
    node = plan.nodes[0].name
    assert not pending(plan, Consent())
    seen = assess(plan, _records(plan, "found-running"), Consent(), "provisioned", namespace="ns")
    assert seen.done and not seen.ready and seen.reason == "ConsentRequired"
    assert seen.held is not None
    assert f"strata adopt {node} --kubeconfig FILE -n ns -t {plan.topology}" in seen.held
    assert seen.held.index("adopt") < seen.held.index("allowReprovision")  # adopt first
    assert pending(plan, Consent(frozenset({node})))  # consented: a reinstall to run


def test_consent_naming_no_server_of_the_topology_is_found() -> None:
    plan = _plan()
    consent = Consent(frozenset({plan.nodes[0].name, "node-typo"}))
    assert unknown_nodes(consent, [p.name for p in plan.nodes]) == ["node-typo"]
    assert held_message(plan, consent, {}) is None


def test_a_server_first_found_running_during_the_run_is_offered_adoption() -> None:
    plan = _plan(ChangeKind.CREATE)  # the plan made before the run: no record yet
    seen = assess(plan, _records(plan, "found-running"), Consent(), "provisioned")
    assert seen.done and seen.held is not None
    assert f"strata adopt {plan.nodes[0].name} --kubeconfig FILE -t" in seen.held
