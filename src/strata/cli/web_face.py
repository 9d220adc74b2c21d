"""The web face of a run (docs/web.md), as `strata apply` and `strata serve` start it:
one registry for the run's metrics (the fleet, the lease, DHCP, the boot service, the
BMCs, the phases), the REST API over the run's store and plan, and the listener."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from strata.controller import Event
from strata.controller.report import Change
from strata.controller.requests import request
from strata.plan import Plan
from strata.store.records import MovableStore
from strata.web.access import web_token
from strata.web.api import ActionDone, api_routes
from strata.web.app import WebRunner, web_app
from strata.web.live import live_routes
from strata.web.metrics import BMCMetrics, BootMetrics, LoopMetrics, PhaseMetrics, run_registry

__all__ = ["ACTIONS", "WebFace", "observed", "web_face"]

# the API's actions (``strata.web.api.ACTIONS``): the request each makes, and what it
# says when no controller runs (the records written here)
ACTIONS = {
    "retry": (Event.RETRY, "retrying: the next `strata apply` resumes"),
    "maintenance-on": (Event.MAINTENANCE_ON, "in maintenance: hands off"),
    "maintenance-off": (Event.MAINTENANCE_OFF, "out of maintenance: `strata apply` goes on"),
}


@dataclass(frozen=True)
class WebFace:
    boot: BootMetrics
    bmc: BMCMetrics
    phases: PhaseMetrics
    loop: LoopMetrics  # its ``observe``: ``ApplyOptions.observe_lag``
    runner: WebRunner  # started and stopped beside the run (``Beside``)


def web_face(
    store: MovableStore, plan: Plan, host: str, port: int, dhcp_log: Path | None = None
) -> WebFace:
    """The run's face over ``store`` and ``plan`` (DHCP from dnsmasq's ``dhcp_log``
    when it runs) served on ``host:port`` once ``runner`` starts; its bearer token is
    the state's (``strata token``)."""
    registry = run_registry(store.summaries, store.writer, dhcp_log)
    nodes = {n.name: n for n in plan.nodes}

    def act(action: str, name: str, reason: str | None) -> ActionDone:
        event, done = ACTIONS[action]
        asked = request(store, (name,), event, reason=reason)  # RequestRefused, Conflict
        who = asked.controller
        then = f"asked {who} to {action} {name}" if who else done
        return ActionDone(nodes=list(asked.nodes), controller=who, message=then)

    token = web_token(store.token_key())
    stopping = threading.Event()  # set when the face stops: open streams end
    api = [
        *api_routes(store, plan.topology, nodes.get, token, act),
        *live_routes(store, token, stopping),
    ]
    runner = WebRunner(web_app(registry, token, api), host, port, stopping)
    return WebFace(
        BootMetrics(registry),
        BMCMetrics(registry),
        PhaseMetrics(registry),
        LoopMetrics(registry),
        runner,
    )


def observed(view: Callable[[Change], None], face: WebFace | None) -> Callable[[Change], None]:
    """``view`` (the live view, JSON lines), and ``face``'s phase timer told of each move."""
    if face is None:
        return view

    def both(change: Change) -> None:
        before = change.before.value if change.before is not None else None
        face.phases.moved(change.node, before, change.after.value, change.at)
        view(change)

    return both
