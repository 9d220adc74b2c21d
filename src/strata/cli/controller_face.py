"""`strata controller --web-listen`: the in-cluster controller's web face (docs/web.md,
"In a cluster"). Each Topology it drives gets the face `strata apply --web-listen`
serves (dashboard, REST API, metrics) at ``/topologies/NAME/``, shown when its first
run starts and rebuilt on each new plan; its metrics live as long as the process. The
cluster's own auth decides who sees and acts (``strata.web.kube_access``)."""

from __future__ import annotations

import threading

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


class ControllerFace:
    """``Face`` of ``strata.operator.settings``, served by ``runner`` on ``host:port``;
    ``reviewer`` asks the API server about each client (``KubeReviewer``); actions are
    asked of the controller that drives the servers (``running``, said in answers)."""

    def __init__(
        self, reviewer: Reviewer, namespace: str, running: str, host: str, port: int
    ) -> None:
        self.reviewer, self.namespace, self.running = reviewer, namespace, running
        self.cache = ReviewCache()
        self.faces = Faces(ClusterAccess(reviewer, namespace, None, self.cache))
        self.stopping = threading.Event()  # set when the face stops: open streams end
        self.runner = WebRunner(self.faces, host, port, self.stopping)
        self._shown: dict[str, tuple[CollectorRegistry, FaceMetrics, Plan | None]] = {}
        self._lock = threading.Lock()

    def show(self, topology: str, store: Store, plan: Plan) -> Seen:
        """NAME's face over ``store`` and ``plan`` (made again when the plan is another);
        what its runs tell it."""
        with self._lock:
            registry, metrics, shown = self._made(topology, store)
            if shown is not plan:
                access = ClusterAccess(self.reviewer, self.namespace, topology, self.cache)
                app = face_app(store, plan, registry, access, self.stopping, self.running)
                self.faces.show(topology, app)
                self._shown[topology] = (registry, metrics, plan)
        return Seen(timed(lambda change: None, metrics.phases), metrics.loop.observe)

    def metrics(self, topology: str) -> FaceMetrics | None:
        """NAME's metrics, for its boot service and BMC drivers (None: not shown, which
        a run does before it starts them)."""
        with self._lock:
            shown = self._shown.get(topology)
        return shown[1] if shown is not None else None

    def hide(self, topology: str) -> None:
        """NAME's object went: its face with it (its metrics too)."""
        with self._lock:
            self._shown.pop(topology, None)
        self.faces.hide(topology)

    def _made(
        self, topology: str, store: Store
    ) -> tuple[CollectorRegistry, FaceMetrics, Plan | None]:
        if topology not in self._shown:
            registry = run_registry(store.summaries)
            self._shown[topology] = (registry, FaceMetrics.of(registry), None)
        return self._shown[topology]
