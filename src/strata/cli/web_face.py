"""The web face of a run (docs/web.md), as `strata apply` and `strata serve` start it:
one registry for the run's metrics (the fleet, the lease, DHCP, the boot service, the
BMCs, the phases, the loop), the REST API over the run's store and plan, and the
listener. ``face_app`` makes one topology's face for any access; `strata controller`
serves one per Topology (``strata.cli.controller_face``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from strata.controller import Event
from strata.controller.report import Change
from strata.controller.requests import request
from strata.plan import Plan
from strata.store import Store
from strata.store.records import MovableStore
from strata.web.access import Access, TokenAccess, web_token
from strata.web.api import ActionDone, api_routes
from strata.web.app import WebRunner, web_app
from strata.web.live import live_routes
from strata.web.metrics import BMCMetrics, BootMetrics, LoopMetrics, PhaseMetrics, run_registry

__all__ = ["ACTIONS", "FaceMetrics", "WebFace", "face_app", "observed", "timed", "web_face"]

# the API's actions (``strata.web.api.ACTIONS``): the request each makes, and what it
# says when no controller runs (the records written here)
ACTIONS = {
    "retry": (Event.RETRY, "retrying: the next `strata apply` resumes"),
    "maintenance-on": (Event.MAINTENANCE_ON, "in maintenance: hands off"),
    "maintenance-off": (Event.MAINTENANCE_OFF, "out of maintenance: `strata apply` goes on"),
}


@dataclass(frozen=True)
class FaceMetrics:
    """What a run tells its face's registry."""

    boot: BootMetrics
    bmc: BMCMetrics
    phases: PhaseMetrics
    loop: LoopMetrics  # its ``observe``: ``ApplyOptions.observe_lag``

    @classmethod
    def of(cls, registry: CollectorRegistry) -> FaceMetrics:
        """Each of them, registered in ``registry``."""
        return cls(BootMetrics(registry), BMCMetrics(registry), PhaseMetrics(registry),
                   LoopMetrics(registry))  # fmt: skip


@dataclass(frozen=True)
class WebFace:
    """A run's face: what the run tells it (``metrics``), and its listener."""

    metrics: FaceMetrics
    runner: WebRunner  # started and stopped beside the run (``Beside``)

    @property
    def boot(self) -> BootMetrics:
        return self.metrics.boot

    @property
    def bmc(self) -> BMCMetrics:
        return self.metrics.bmc

    @property
    def loop(self) -> LoopMetrics:
        return self.metrics.loop


def face_app(
    store: Store,
    plan: Plan,
    registry: CollectorRegistry,
    access: Access,
    stopping: threading.Event,
    running: str | None = None,
    namespace: str | None = None,
) -> Starlette:
    """One topology's face over ``store`` and ``plan``: its metrics (``registry``), the
    API and the dashboard, as ``access`` allows; actions are a person's requests
    (``strata.controller.requests``: ``running``, the controller known to drive the
    servers, else the store's writer lease says); open streams end once ``stopping``
    is set; ``namespace``: in a cluster, the Topology object's (the page's commands
    name it)."""
    nodes = {n.name: n for n in plan.nodes}

    def act(action: str, name: str, reason: str | None) -> ActionDone:
        event, done = ACTIONS[action]
        asked = request(store, (name,), event, running, reason)  # RequestRefused, Conflict
        who = asked.controller
        then = f"asked {who} to {action} {name}" if who else done
        return ActionDone(nodes=list(asked.nodes), controller=who, message=then)

    api = [
        *api_routes(store, plan.topology, nodes.get, access, act, namespace),
        *live_routes(store, access, stopping),
    ]
    return web_app(registry, access, api)


def web_face(
    store: MovableStore, plan: Plan, host: str, port: int, dhcp_log: Path | None = None
) -> WebFace:
    """The run's face over ``store`` and ``plan`` (DHCP from dnsmasq's ``dhcp_log``
    when it runs) served on ``host:port`` once ``runner`` starts; its bearer token is
    the state's (``strata token``)."""
    registry = run_registry(store.summaries, store.writer, dhcp_log)
    access = TokenAccess(web_token(store.token_key()))
    stopping = threading.Event()  # set when the face stops: open streams end
    app = face_app(store, plan, registry, access, stopping)
    return WebFace(FaceMetrics.of(registry), WebRunner(app, host, port, stopping))


def observed(view: Callable[[Change], None], face: WebFace | None) -> Callable[[Change], None]:
    """``view`` (the live view, JSON lines), and ``face``'s phase timer told of each move."""
    return view if face is None else timed(view, face.metrics.phases)


def timed(view: Callable[[Change], None], phases: PhaseMetrics) -> Callable[[Change], None]:
    """``view``, and ``phases`` told of each move."""

    def both(change: Change) -> None:
        before = change.before.value if change.before is not None else None
        phases.moved(change.node, before, change.after.value, change.at)
        view(change)

    return both
