"""``spec.consent`` of a Topology object: what a person committed to allow beside the
topology (GitOps: a commit that would reinstall a server does nothing until the consent
is committed too). ``{allowReprovision: [node names], prune: bool}`` becomes
``ApplyOptions.allow_reprovision`` and ``prune``; what stays held until then is said in
a condition naming what to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strata.plan import ChangeKind, Plan

__all__ = ["Consent", "consent_of", "held_message"]


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


def held_message(plan: Plan, consent: Consent, held: Mapping[str, str]) -> str | None:
    """What the plan holds until consent is committed, and what to write; None: nothing.

    ``held``: the run's held nodes (``Summary.held``) — a reinstall of a provisioned
    server, a removed server's power-off, a found-running machine."""
    reinstall = sorted(
        a.node
        for a in plan.actions
        if a.kind in (ChangeKind.REPROVISION, ChangeKind.ADOPT_OR_REINSTALL)
        and a.node not in consent.allow_reprovision
    )
    removed = sorted(a.node for a in plan.actions if a.kind is ChangeKind.DELETE)
    parts: list[str] = []
    if reinstall:
        parts.append(
            f"reinstall of {', '.join(reinstall)} held: add them to spec.consent.allowReprovision"
        )
    if removed and not consent.prune:
        parts.append(
            f"power-off of {', '.join(removed)} (removed) held: set spec.consent.prune: true"
        )
    other = sorted(set(held) - set(reinstall) - set(removed))
    parts.extend(f"{node}: {held[node]}" for node in other)
    return "; ".join(parts) or None
