"""The web face of a run (docs/web.md), as `strata apply` and `strata serve` start it:
one registry for the run's metrics, the boot service's, the BMCs' and the phases'
collectors in it, and the listener that serves them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from strata.controller.report import Change
from strata.store.records import NodeSummary
from strata.web.app import WebRunner, web_app
from strata.web.metrics import BMCMetrics, BootMetrics, PhaseMetrics, run_registry

__all__ = ["WebFace", "observed", "web_face"]


class FacedStore(Protocol):
    """What the web face reads of a store."""

    def summaries(self) -> list[NodeSummary]: ...

    def writer(self, now: float | None = None) -> tuple[str, float] | None: ...


@dataclass(frozen=True)
class WebFace:
    boot: BootMetrics
    bmc: BMCMetrics
    phases: PhaseMetrics
    runner: WebRunner  # started and stopped beside the run (``Beside``)


def web_face(store: FacedStore, host: str, port: int, dhcp_log: Path | None = None) -> WebFace:
    """The run's metrics (the fleet and the lease from ``store``, DHCP from dnsmasq's
    ``dhcp_log`` when it runs) served on ``host:port`` once ``runner`` starts."""
    registry = run_registry(store.summaries, store.writer, dhcp_log)
    runner = WebRunner(web_app(registry), host, port)
    return WebFace(BootMetrics(registry), BMCMetrics(registry), PhaseMetrics(registry), runner)


def observed(view: Callable[[Change], None], face: WebFace | None) -> Callable[[Change], None]:
    """``view`` (the live view, JSON lines), and ``face``'s phase timer told of each move."""
    if face is None:
        return view

    def both(change: Change) -> None:
        before = change.before.value if change.before is not None else None
        face.phases.moved(change.node, before, change.after.value, change.at)
        view(change)

    return both
