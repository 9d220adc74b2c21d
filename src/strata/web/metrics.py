"""Prometheus metrics of a run, with ``prometheus_client`` (one registry per run, never
the process-wide default, so two runs in one process never mix).

- ``strata_servers{state,layer}`` (gauge): the servers by lifecycle state and layer,
  read from the store each time it is scraped (``FleetCollector``): what the store
  says, never a count kept beside it.
- ``strata_boot_requests_total{route,status}`` (counter) and
  ``strata_boot_request_duration_seconds{route}`` (histogram): what the boot service
  answered, by route template (``/assets/{os}/{version}/{file}``, not each path: the
  label set stays as small as the route table) and HTTP status (``BootMetrics``,
  counted by ``CountRequests`` around the boot service's app).

Names and units follow Prometheus' conventions (prometheus.io/docs/practices/naming:
base units, ``_total`` for counters, ``_seconds`` for durations).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from strata.store.records import NodeSummary

__all__ = ["BootMetrics", "CountRequests", "FleetCollector", "run_registry"]

ASGIApp = Callable[[dict[str, Any], Any, Any], Any]
UNMATCHED = "unmatched"  # the route label of a request no route took (a 404)
# seconds: a script or config is answered in milliseconds, an artifact may stream minutes
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300)


class FleetCollector(Collector):
    """``strata_servers{state,layer}`` from ``summaries()`` (a store's ``summaries``),
    read at each scrape."""

    def __init__(self, summaries: Callable[[], Sequence[NodeSummary]]) -> None:
        self._summaries = summaries

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "strata_servers", "Servers by lifecycle state and layer.", labels=["state", "layer"]
        )
        counts = Counter((s.state, s.layer) for s in self._summaries())
        for (state, layer), count in sorted(counts.items()):
            family.add_metric([state, layer], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected at each scrape: the registry need not call it at register


class BootMetrics:
    """The boot service's request counter and duration histogram, in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = PromCounter(
            "strata_boot_requests",
            "Boot service requests answered, by route template and HTTP status.",
            ["route", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "strata_boot_request_duration_seconds",
            "Seconds from a boot service request's arrival to the end of its answer.",
            ["route"],
            buckets=BUCKETS,
            registry=registry,
        )

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.seconds.labels(route).observe(seconds)


class CountRequests:
    """ASGI middleware (Starlette's ``Middleware(CountRequests, metrics=…)``): each HTTP
    request counted in ``metrics`` once its answer is sent, by the route template
    Starlette matched (``scope["route"]``) and the status sent (500 for an exception
    before an answer began, as the server then sends)."""

    def __init__(self, app: ASGIApp, metrics: BootMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sent(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.metrics.observe(route, status, time.perf_counter() - started)


def run_registry(summaries: Callable[[], Sequence[NodeSummary]]) -> CollectorRegistry:
    """A registry for one run, holding its fleet's gauge (the boot service adds its own)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(summaries))
    return registry
