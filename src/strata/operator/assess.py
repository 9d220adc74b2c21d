"""Where a Topology stands, from its plan and every server's record: the Ready,
Progressing and Degraded conditions' status, reason and message (Kubernetes API
conventions, "Typical status properties": Progressing is True only while the
controller has work it can do; a server waiting for a person's consent, failed or in
maintenance is not progress).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from strata.operator.consent import Consent, held_message, held_nodes
from strata.plan import ChangeKind, Plan
from strata.store import NodeSummary

__all__ = ["Assessment", "assess", "pending"]


@dataclass(frozen=True, slots=True)
class Assessment:
    ready: bool  # every server of the plan at the target, nothing held
    done: bool  # nothing left the controller can do without a person
    held: str | None  # what waits for consent, with what to write (``held_message``)
    failed: str  # "node: step: reason; ..." of failed servers, or ""
    why: str  # the message of Ready and Progressing
    reason: str  # Ready's reason: AllServersReady, ConsentRequired, NotReady, Replanning


def pending(plan: Plan, consent: Consent) -> bool:
    """True when the plan has an action to run that no consent holds back."""
    held = held_nodes(plan, consent)
    return any(a.kind is not ChangeKind.UNCHANGED and a.node not in held for a in plan.actions)


def assess(
    plan: Plan,
    records: Mapping[str, NodeSummary],
    consent: Consent,
    target: str,
    stopped: bool = False,
    namespace: str | None = None,
) -> Assessment:
    """``records``: every server's summary by name (all shards'); ``target``: the
    state servers are taken to (``joined`` counts for ``provisioned`` too);
    ``stopped``: the run stopped to replan (a new generation, shards moved);
    ``namespace``: the Topology's, named in the commands said."""
    mine = [records[p.name] for p in plan.nodes if p.name in records]
    at_target = {target, "joined"}
    running = {s.name for s in mine if s.state == "found-running"}
    running -= consent.allow_reprovision  # consented: the next run reinstalls
    held = held_message(plan, consent, {}, namespace, running)
    waiting = held_nodes(plan, consent) | running
    failed = "; ".join(f"{s.name}: {s.step}: {s.reason}" for s in mine if s.state == "failed")
    ready = len(mine) == len(plan.nodes) and all(s.state in at_target for s in mine)
    ready = ready and not held and not stopped
    stopped_by = {"failed", "maintenance"}  # until a person acts: not progress
    settled = all(s.state in at_target | stopped_by or s.name in waiting for s in mine)
    done = stopped or ready or (len(mine) == len(plan.nodes) and settled)
    why = "stopped to replan" if stopped else held or _counted(mine, target, ready)
    if stopped:
        reason = "Replanning"
    elif held:
        reason = "ConsentRequired"
    else:
        reason = "AllServersReady" if ready else "NotReady"
    return Assessment(ready, done, held, failed, why, reason)


def _counted(servers: Sequence[NodeSummary], target: str, ready: bool) -> str:
    if ready:
        return f"every server {target}"
    counts: dict[str, int] = {}
    for s in servers:
        counts[s.state] = counts.get(s.state, 0) + 1
    return "servers: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
