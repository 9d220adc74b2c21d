"""What the controller tells back: a ``Change`` per move for observers (the live view,
JSON lines), and a run's ``Summary``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from strata.controller.lifecycle import State
from strata.controller.tracked import Tracked

__all__ = ["Change", "Summary", "change_of", "summarize"]


@dataclass(frozen=True, slots=True)
class Change:
    """One node moved (or was first seen, with ``before`` None)."""

    node: str
    region: str
    rack: str
    layer: str
    before: State | None
    after: State
    event: str
    reason: str | None
    at: float
    held: str | None = None  # why the controller leaves the node as it is


@dataclass(frozen=True, slots=True)
class Summary:
    states: Mapping[str, State]
    failed: Mapping[str, str]  # node -> "step: reason"
    held: Mapping[str, str]
    seconds: float
    found_running: Mapping[str, str] = field(default_factory=dict)  # node -> why

    @property
    def ok(self) -> bool:
        """Every node reached its target or waits only for consent it was told to ask for."""
        return not self.failed and not self.found_running


def change_of(t: Tracked, before: State | None, event: str, at: float) -> Change:
    """What observers (the live view, JSON lines) are told of one node's move."""
    p = t.plan
    return Change(t.name, p.region, p.rack, p.layer, before, t.state, event, t.reason, at, t.held)


def summarize(nodes: Iterable[Tracked], seconds: float) -> Summary:
    nodes = list(nodes)
    return Summary(
        states={t.name: t.state for t in nodes},
        failed={t.name: f"{t.step}: {t.reason}" for t in nodes if t.state is State.FAILED},
        held={t.name: t.held for t in nodes if t.held},
        seconds=seconds,
        found_running={
            t.name: t.reason or "found running" for t in nodes if t.state is State.FOUND_RUNNING
        },
    )
