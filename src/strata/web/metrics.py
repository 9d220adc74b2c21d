"""Prometheus metrics of a run, with ``prometheus_client`` (one registry per run, never
the process-wide default, so two runs in one process never mix).

- ``strata_servers{state,layer}`` (gauge): the servers by lifecycle state and layer,
  read from the store each time it is scraped (``FleetCollector``): what the store
  says, never a count kept beside it.
- ``strata_phase_duration_seconds{phase}`` (histogram): how long servers stayed in
  each lifecycle state, observed as they leave it (``PhaseMetrics``, told of the
  controller's moves).
- ``strata_bmc_calls_total{operation,result}`` (counter) and
  ``strata_bmc_call_duration_seconds{operation}`` (histogram): every BMC operation
  ("power on", "boot device pxe", "insert virtual media", "inventory", …), its result
  ("ok" or the fault's kind: "unreachable", "authentication-failed", …) and its
  seconds, waiting and retries included (``BMCMetrics``, told by ``bmc.guard.Guard``).
- ``strata_lease_holder_info{holder}`` (gauge, 1) and ``strata_lease_expiry_timestamp_seconds``
  (gauge): who holds the state's writer lease and until when (unix seconds), read at
  each scrape (``LeaseCollector``); none while nobody holds it.
- ``strata_dhcp_acks_total`` (counter): the DHCPACKs dnsmasq wrote in its log since
  the web face started (``DhcpLogCollector``: leases handed out, renewals included).
- ``strata_boot_requests_total{route,status}`` (counter) and
  ``strata_boot_request_duration_seconds{route}`` (histogram): what the boot service
  answered, by route template (``/assets/{os}/{version}/{file}``, not each path: the
  label set stays as small as the route table) and HTTP status (``BootMetrics``,
  counted by ``CountRequests`` around the boot service's app).
- ``strata_reconciler_loop_lag_seconds{source}`` (histogram): how late the controller's
  loop handled what was due: ``event``, a log entry it acts on (the boot service's,
  a phone-home, the cluster's, a person's request), from its writing to its reading;
  ``timer``, a deadline, a retry's wait or a rack's power slot, past its due time
  (``LoopMetrics``, told through ``ApplyOptions.observe_lag``). Events wait for the
  loop's poll (0.25 s) by design; more is a loop behind its work. What was written or
  due before the loop first looked (no controller ran) is not counted.

Names and units follow Prometheus' conventions (prometheus.io/docs/practices/naming:
base units, ``_total`` for counters, ``_seconds`` for durations).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from strata.store.records import NodeSummary

__all__ = [
    "BMCMetrics",
    "BootMetrics",
    "CountRequests",
    "DhcpLogCollector",
    "FleetCollector",
    "LeaseCollector",
    "PhaseMetrics",
    "run_registry",
]

ASGIApp = Callable[[dict[str, Any], Any, Any], Any]
UNMATCHED = "unmatched"  # the route label of a request no route took (a 404)
# seconds: a script or config is answered in milliseconds, an artifact may stream minutes
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300)
# seconds: a BMC answers in tens of milliseconds to seconds; a power-on settles in minutes
BMC_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# seconds: a phase lasts seconds (registering) to an hour (an install on a slow mirror)
PHASE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
# the loop's lag: its poll is 0.25 s; seconds and more are a loop behind its work
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


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


class LeaseCollector(Collector):
    """The writer lease's holder and expiry from ``writer()`` (a store's ``writer``:
    (holder, expires) or None), read at each scrape."""

    def __init__(self, writer: Callable[[], tuple[str, float] | None]) -> None:
        self._writer = writer

    def collect(self) -> Iterator[Metric]:
        holder = GaugeMetricFamily(
            "strata_lease_holder_info", "Who holds the state's writer lease.", labels=["holder"]
        )
        expiry = GaugeMetricFamily(
            "strata_lease_expiry_timestamp_seconds",
            "When the writer lease ends unless renewed (unix seconds).",
        )
        held = self._writer()
        if held is not None:
            holder.add_metric([held[0]], 1)
            expiry.add_metric([], held[1])
        yield holder
        yield expiry

    def describe(self) -> Iterator[Metric]:
        return iter(())


class DhcpLogCollector(Collector):
    """``strata_dhcp_acks_total``: the ``DHCPACK(`` lines dnsmasq appended to ``log``
    (its ``--log-dhcp`` output) since this collector was made, read on from where the
    last scrape stopped (whole lines only); a log that shrank (rotated) is read from
    its start. The file absent counts nothing."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self._offset = log.stat().st_size if log.exists() else 0
        self._acks = 0
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._acks += self._read_new()
            acks = self._acks
        family = CounterMetricFamily(
            "strata_dhcp_acks", "DHCPACKs dnsmasq sent (leases handed out or renewed)."
        )
        family.add_metric([], acks)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def _read_new(self) -> int:
        try:
            with self.log.open("rb") as stream:
                if stream.seek(0, 2) < self._offset:
                    self._offset = 0
                stream.seek(self._offset)
                data = stream.read(16 * 2**20)
        except FileNotFoundError:
            return 0
        whole = data[: data.rfind(b"\n") + 1]
        self._offset += len(whole)
        return whole.count(b"DHCPACK(")


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


class BMCMetrics:
    """BMC operations by name and result, with their durations, in ``registry``;
    ``observe`` is what ``DriverSettings.observe`` takes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = PromCounter(
            "strata_bmc_calls",
            "BMC operations ended, by operation and result (ok, or the fault's kind).",
            ["operation", "result"],
            registry=registry,
        )
        self.seconds = Histogram(
            "strata_bmc_call_duration_seconds",
            "Seconds a BMC operation took, waiting for its BMC and retries included.",
            ["operation"],
            buckets=BMC_BUCKETS,
            registry=registry,
        )

    def observe(self, operation: str, result: str, seconds: float) -> None:
        self.calls.labels(operation, result).inc()
        self.seconds.labels(operation).observe(seconds)


class PhaseMetrics:
    """How long servers stay in each lifecycle state, in ``registry``: ``moved`` is told
    of each move (the controller's observer) and observes the state left, timed from
    when this run saw the server enter it (or first saw it there: a run that starts
    with a server mid-phase times only the part it saw)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.seconds = Histogram(
            "strata_phase_duration_seconds",
            "Seconds a server stayed in a lifecycle state, observed when it left it.",
            ["phase"],
            buckets=PHASE_BUCKETS,
            registry=registry,
        )
        self._entered: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def moved(self, node: str, before: str | None, after: str, at: float) -> None:
        """``node`` went from ``before`` (None: first seen) to ``after`` at ``at``
        (unix seconds)."""
        with self._lock:
            was = self._entered.get(node)
            if after != (was[0] if was else None):
                self._entered[node] = (after, at)
        if was is not None and before == was[0] and after != before:
            self.seconds.labels(before).observe(max(0.0, at - was[1]))


class LoopMetrics:
    """The controller loop's lag, in ``registry``: ``observe`` is what
    ``ApplyOptions.observe_lag`` takes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.seconds = Histogram(
            "strata_reconciler_loop_lag_seconds",
            "Seconds the controller's loop handled what was due late: a log entry it acts "
            "on (source=event, from its writing) or a timer (source=timer, past its time).",
            ["source"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        for source in ("event", "timer"):
            self.seconds.labels(source)  # both series exist from the start

    def observe(self, source: str, seconds: float) -> None:
        """``seconds`` late, from ``source`` ("event" or "timer")."""
        self.seconds.labels(source).observe(max(0.0, seconds))


def run_registry(
    summaries: Callable[[], Sequence[NodeSummary]],
    writer: Callable[[], tuple[str, float] | None] | None = None,
    dhcp_log: Path | None = None,
) -> CollectorRegistry:
    """A registry for one run: its fleet's gauge, with ``writer`` its lease's, with
    ``dhcp_log`` (dnsmasq's log) its DHCP counter; the boot service, the BMCs and the
    phases add their own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(summaries))
    if writer is not None:
        registry.register(LeaseCollector(writer))
    if dhcp_log is not None:
        registry.register(DhcpLogCollector(dhcp_log))
    return registry
