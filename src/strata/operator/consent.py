"""``spec.consent`` of a Topology object: what a person committed to allow beside the
topology (GitOps: a commit that would reinstall a server does nothing until the consent
is committed too). ``{allowReprovision: [node names], prune: bool}`` becomes
``ApplyOptions.allow_reprovision`` and ``prune``; what stays held until then is said in
a condition naming what to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strata.plan import ChangeKind, Plan

__all__ = ["Consent", "consent_of", "held_message", "held_nodes", "unknown_nodes"]


@dataclass(frozen=True, slots=True)
class Consent:
    allow_reprovision: frozenset[str] = frozenset()
    prune: bool = False


def consent_of(spec: Mapping[str, Any]) -> Consent:
    """``spec.consent`` read leniently: anything but a list of names is no consent."""
    given = spec.get("consent") or {}
    if not isinstance(given, Mapping):
        return Consent()
    names = given.get("allowReprovision") or []
    allowed = (
        frozenset(n for n in names if isinstance(n, str))
        if isinstance(names, list)
        else frozenset()
    )
    return Consent(allowed, given.get("prune") is True)


def held_nodes(plan: Plan, consent: Consent) -> frozenset[str]:
    """The nodes whose action waits for consent: a reinstall or a found-running server
    not in ``allowReprovision``; a removed server's power-off without ``prune``."""
    return frozenset(
        a.node
        for a in plan.actions
        if (a.kind in _REINSTALL and a.node not in consent.allow_reprovision)
        or (a.kind is ChangeKind.DELETE and not consent.prune)
    )


def unknown_nodes(consent: Consent, names: Iterable[str]) -> list[str]:
    """Names in ``allowReprovision`` that are not among ``names`` (the topology's
    servers): a typo, or a server since removed — consent that allows nothing."""
    return sorted(consent.allow_reprovision - set(names))


def held_message(
    plan: Plan,
    consent: Consent,
    held: Mapping[str, str],
    namespace: str | None = None,
    running: Iterable[str] = (),
) -> str | None:
    """What the plan holds until consent is committed, and what to write; None: nothing.

    ``held``: the run's held nodes (``Summary.held``) — a reinstall of a provisioned
    server, a removed server's power-off, a found-running machine. A found-running
    server (on, with no record: installed by someone else, or its Server object
    deleted) is offered adoption first (``strata adopt``: nothing touched), reinstall
    second; ``namespace`` completes the command said; ``running``: servers recorded
    found-running (first met during the run: the plan still said create)."""
    waiting = held_nodes(plan, consent)
    kinds = {a.node: a.kind for a in plan.actions if a.node in waiting}
    kinds |= {n: ChangeKind.ADOPT_OR_REINSTALL for n in running}
    waiting |= set(running)
    reinstall = sorted(n for n, k in kinds.items() if k is ChangeKind.REPROVISION)
    found = sorted(n for n, k in kinds.items() if k is ChangeKind.ADOPT_OR_REINSTALL)
    removed = sorted(n for n, k in kinds.items() if k is ChangeKind.DELETE)
    parts: list[str] = []
    if found:
        where = f" -n {namespace}" if namespace else ""
        parts.append(
            f"{', '.join(found)} found running with no record of Strata installing it "
            "(installed by someone else, or its Server object deleted): adopt it as it is "
            f"with `strata adopt {' '.join(found)} --kubeconfig FILE{where} "
            f"-t {plan.topology}`, or reinstall it: add it to spec.consent.allowReprovision"
        )
    if reinstall:
        parts.append(
            f"reinstall of {', '.join(reinstall)} held: add them to spec.consent.allowReprovision"
        )
    if removed:
        parts.append(
            f"power-off of {', '.join(removed)} (removed) held: set spec.consent.prune: true"
        )
    other = sorted(set(held) - waiting)
    parts.extend(f"{node}: {held[node]}" for node in other)
    return "; ".join(parts) or None


_REINSTALL = (ChangeKind.REPROVISION, ChangeKind.ADOPT_OR_REINSTALL)
