"""The web face's /metrics: the fleet by state and layer from the store, the boot
service's requests by route template and status, loopback only, read by promtool."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.plan import build_plan
from strata.plan.model import to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load
from strata.web.access import TokenAccess
from strata.web.app import web_app
from strata.web.metrics import BMCMetrics, BootMetrics, LoopMetrics, PhaseMetrics, run_registry
from tests.support.promtool import promtool_check

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
LOOPBACK = ("127.0.0.1", 50000)
LOCAL = "http://127.0.0.1:9464"  # the loopback, as a browser on this host names it


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``registry`` as Prometheus' own parser reads its exposition."""
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(LAB))
    store.write_records(
        [RecordWrite(n.name, 0, "declared", plan=to_jsonable(n)) for n in plan.nodes]
    )
    store.write_records([RecordWrite("lab-cp-0", 1, "provisioned")])
    return store


def test_the_fleet_gauge_is_what_the_store_says_at_each_scrape(store: SQLiteStore) -> None:
    registry = run_registry(store.summaries)
    gauge = {k: v for k, v in samples(registry).items() if k[0] == "strata_servers"}
    assert gauge == {
        ("strata_servers", (("layer", "mgmt"), ("state", "declared"))): 2.0,
        ("strata_servers", (("layer", "mgmt"), ("state", "provisioned"))): 1.0,
    }
    store.write_records([RecordWrite("lab-worker-0", 1, "registering")])
    again = samples(registry)
    assert again[("strata_servers", (("layer", "mgmt"), ("state", "declared")))] == 1.0
    assert again[("strata_servers", (("layer", "mgmt"), ("state", "registering")))] == 1.0


def test_boot_requests_are_counted_by_route_template_and_status(
    store: SQLiteStore, tmp_path: Path
) -> None:
    registry = run_registry(store.summaries)
    content = BootContent(build_plan(load(LAB)), "http://10.0.0.1:8080", TokenSigner(b"k" * 32))
    service = BootService(content, store, AssetIndex(tmp_path), metrics=BootMetrics(registry))
    with TestClient(service.app) as client:
        assert client.get("/ipxe", params={"mac": "52:54:00:10:00:01"}).status_code == 200
        assert client.get("/ipxe", params={"mac": "nope"}).status_code == 400
        assert client.get("/assets/flatcar/4081.2.0/vmlinuz").status_code == 404
        assert client.get("/nowhere").status_code == 404
    counted = samples(registry)

    def requests(route: str, status: str) -> float:
        return counted[("strata_boot_requests_total", (("route", route), ("status", status)))]

    assert requests("/ipxe", "200") == 1 and requests("/ipxe", "400") == 1
    assert requests("/assets/{os}/{version}/{file}", "404") == 1  # the template, not the path
    assert requests("unmatched", "404") == 1
    ipxe = ("strata_boot_request_duration_seconds_count", (("route", "/ipxe"),))
    assert counted[ipxe] == 2


def test_metrics_answer_the_loopback_or_the_token_and_promtool_reads_them(
    store: SQLiteStore,
) -> None:
    registry = run_registry(store.summaries)
    BootMetrics(registry).observe("/ipxe", 200, 0.002)
    app = web_app(registry, TokenAccess("the-token"))
    answer = TestClient(app, client=LOOPBACK, base_url=LOCAL).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["cache-control"] == "no-store"
    assert 'strata_servers{layer="mgmt",state="declared"} 2.0' in answer.text
    promtool_check(answer.content)
    elsewhere = TestClient(app, client=("192.168.1.9", 50000))
    assert elsewhere.get("/metrics").status_code == 401
    assert "strata_" not in elsewhere.get("/metrics").text
    bearer = {"Authorization": "Bearer the-token"}
    assert elsewhere.get("/metrics", headers=bearer).text == answer.text
    assert TestClient(app, client=LOOPBACK, base_url=LOCAL).post("/metrics").status_code == 405


def test_a_phase_is_timed_from_entering_it_to_leaving_it() -> None:
    registry = CollectorRegistry()
    phases = PhaseMetrics(registry)
    phases.moved("n0", None, "declared", 100.0)  # first seen
    phases.moved("n0", "declared", "registering", 102.0)
    phases.moved("n1", None, "booting", 101.0)  # found mid-phase: timed from first sight
    phases.moved("n0", "registering", "registering", 103.0)  # a step, not a move
    phases.moved("n0", "registering", "inspecting", 110.0)
    phases.moved("n1", "booting", "installing", 131.0)
    counted = samples(registry)

    def phase(name: str, suffix: str) -> float:
        return counted[(f"strata_phase_duration_seconds_{suffix}", (("phase", name),))]

    assert phase("declared", "sum") == 2.0 and phase("registering", "sum") == 8.0
    assert phase("booting", "sum") == 30.0 and phase("registering", "count") == 1
    assert ("strata_phase_duration_seconds_count", (("phase", "inspecting"),)) not in counted
    promtool_check(generate_latest(registry))


def test_the_loop_lag_by_source_from_a_real_run(store: SQLiteStore, tmp_path: Path) -> None:
    """A reconciler run over the simulated fleet tells ``LoopMetrics`` (as `strata apply
    --web-listen` wires it): both sources observed, each lag a real wait (>= 0, and
    under the run's own length), promtool reads the histogram."""
    from strata.controller import ApplyOptions, Reconciler, recorded
    from strata.lab.generated import generated_topology
    from strata.lab.simulated import Fleet, FleetSettings

    registry = CollectorRegistry()
    loop = LoopMetrics(registry)
    assert (
        samples(registry)[("strata_reconciler_loop_lag_seconds_count", (("source", "timer"),))] == 0
    )
    fresh = SQLiteStore(tmp_path / "run.db")
    topo = generated_topology(1, 3)
    fast = FleetSettings(
        latency=(0.001, 0.002), boot_seconds=(0.05, 0.1), install_seconds=(0.05, 0.1)
    )
    fleet = Fleet(topo, fresh, fast)
    started = time.time()
    try:
        options = ApplyOptions(poll_interval=0.01, max_backoff=0.01, observe_lag=loop.observe)
        fleet.machines["k1-n1"].flaky_calls = 2  # a retry's wait: a timer
        Reconciler(build_plan(topo, *recorded(fresh)), fresh, fleet, options).run()
    finally:
        fleet.close()
    took = time.time() - started
    seen = samples(registry)
    for source in ("event", "timer"):
        labels = (("source", source),)
        count = seen[("strata_reconciler_loop_lag_seconds_count", labels)]
        assert count > 0, source
        assert 0 <= seen[("strata_reconciler_loop_lag_seconds_sum", labels)] <= count * took
    promtool_check(generate_latest(registry))


def test_the_lease_holder_and_its_expiry(store: SQLiteStore) -> None:
    registry = run_registry(store.summaries, store.writer)
    assert not [k for k in samples(registry) if k[0].startswith("strata_lease")]  # nobody
    store.acquire_writer("strata apply host-1 4242", ttl=30, now=time.time())
    held = samples(registry)
    assert held[("strata_lease_holder_info", (("holder", "strata apply host-1 4242"),))] == 1
    expiry = held[("strata_lease_expiry_timestamp_seconds", ())]
    assert time.time() < expiry <= time.time() + 30
    promtool_check(generate_latest(registry))


ACK = "dnsmasq-dhcp[2882]: 1796174132 DHCPACK(prov0) 192.168.110.13 52:54:00:10:00:03 lab-w1\n"
OFFER = "dnsmasq-dhcp[2882]: 1796174132 DHCPOFFER(prov0) 192.168.110.13 52:54:00:10:00:03\n"


def test_dhcp_acks_are_counted_from_dnsmasqs_log_as_it_grows(tmp_path: Path) -> None:
    """Lines written before the face started do not count; a line half written counts
    once it is whole; a log that shrank (rotated) is read from its start."""
    log = tmp_path / "dnsmasq.log"
    log.write_text(ACK)  # before: not counted
    registry = run_registry(lambda: [], dhcp_log=log)

    def acks() -> float:
        return samples(registry)[("strata_dhcp_acks_total", ())]

    assert acks() == 0
    with log.open("a") as out:
        out.write(OFFER + ACK + ACK[:20])
    assert acks() == 1
    with log.open("a") as out:
        out.write(ACK[20:])
    assert acks() == 2
    log.write_text(ACK)  # rotated: a new, shorter log
    assert acks() == 3
    log.unlink()
    assert acks() == 3


def test_the_grafana_dashboard_asks_for_metrics_that_exist(
    store: SQLiteStore, tmp_path: Path
) -> None:
    """deploy/grafana/strata-dashboard.json: each query names only families a run's
    registry exposes (a renamed metric would leave a panel empty without a word)."""
    log = tmp_path / "dnsmasq.log"
    registry = run_registry(store.summaries, store.writer, log)
    store.acquire_writer("strata apply", ttl=30)
    BootMetrics(registry), BMCMetrics(registry), PhaseMetrics(registry), LoopMetrics(registry)
    exposed = {
        s.name
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    } | {f.name for f in registry.collect()}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "strata-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    named = {name for expr in exprs for name in re.findall(r"\bstrata_[a-z_]+", expr)}
    assert named and {n.removesuffix("_bucket") for n in named} <= exposed | {
        f.name + "_total" for f in registry.collect()
    }
    assert {"strata_servers", "strata_bmc_calls_total", "strata_dhcp_acks_total"} <= named
    assert "strata_reconciler_loop_lag_seconds_bucket" in named
