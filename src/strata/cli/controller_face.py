"""`strata controller --web-listen`: the in-cluster controller's web face (docs/web.md,
"In a cluster"). Each Topology it drives gets the face `strata apply --web-listen`
serves (dashboard, REST API, metrics) at ``/topologies/NAME/``, shown when its first
run starts and made again when its plan changes; its metrics live until its object
goes. The cluster's own auth decides who sees and acts (``strata.web.kube_access``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from strata.cli.web_face import FaceMetrics, face_app, timed
from strata.operator.settings import Seen
from strata.plan import Plan
from strata.store import Store
from strata.web.app import WebRunner
from strata.web.faces import Faces
from strata.web.kube_access import ClusterAccess, ReviewCache, Reviewer
from strata.web.metrics import run_registry

__all__ = ["ControllerFace"]


@dataclass
class _Shown:
    registry: CollectorRegistry
    metrics: FaceMetrics
    ending: threading.Event  # set when its face goes: its open streams end
    plan: Plan | None = None


class ControllerFace:
    """``Face`` of ``strata.operator.settings``, served by ``runner`` on ``host:port``
    (``stop`` ends it); ``reviewer`` asks the API server about each client
    (``KubeReviewer``); actions are asked of the controller that drives the servers
    (``running``, said in answers)."""

    def __init__(
        self,
        reviewer: Reviewer,
        namespace: str,
        running: str,
        host: str,
        port: int,
        cache: ReviewCache | None = None,
    ) -> None:
        """``cache``: where the reviews' answers are kept (``ReviewCache()``: 10 s)."""
        self.reviewer, self.namespace, self.running = reviewer, namespace, running
        self.cache = cache or ReviewCache()
        self.faces = Faces(ClusterAccess(reviewer, namespace, None, self.cache), self._access)
        self.runner = WebRunner(self.faces, host, port)
        self._shown: dict[str, _Shown] = {}
        self._lock = threading.Lock()

    def show(self, topology: str, store: Store, plan: Plan) -> Seen:
        """NAME's face over ``store`` and ``plan`` (made again when the plan differs from
        the one shown); what its runs tell it."""
        with self._lock:
            shown = self._shown.get(topology)
            if shown is None:
                registry = run_registry(store.summaries)
                shown = _Shown(registry, FaceMetrics.of(registry), threading.Event())
                self._shown[topology] = shown
            if shown.plan != plan:
                app = face_app(store, plan, shown.registry, self._access(topology), shown.ending,
                               self.running, self.namespace)  # fmt: skip
                self.faces.show(topology, app)
                shown.plan = plan
        return Seen(timed(lambda change: None, shown.metrics.phases), shown.metrics.loop.observe)

    def metrics(self, topology: str) -> FaceMetrics | None:
        """NAME's metrics, for its boot service and BMC drivers (None: not shown, which
        a run does before it starts them)."""
        with self._lock:
            shown = self._shown.get(topology)
        return shown.metrics if shown is not None else None

    def hide(self, topology: str) -> None:
        """NAME's object went: its face with it, its open streams ended, its metrics."""
        with self._lock:
            shown = self._shown.pop(topology, None)
            self.faces.hide(topology)
        if shown is not None:
            shown.ending.set()

    def stop(self) -> None:
        """End every open stream, then the listener."""
        with self._lock:
            for shown in self._shown.values():
                shown.ending.set()
        self.runner.stop()

    def _access(self, topology: str) -> ClusterAccess:
        return ClusterAccess(self.reviewer, self.namespace, topology, self.cache)
