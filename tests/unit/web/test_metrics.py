"""The web face's /metrics: the fleet by state and layer from the store, the boot
service's requests by route template and status, loopback only, read by promtool."""

from __future__ import annotations

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
from strata.web.app import web_app
from strata.web.metrics import BootMetrics, PhaseMetrics, run_registry
from tests.support.promtool import promtool_check

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
LOOPBACK = ("127.0.0.1", 50000)


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


def test_metrics_answer_the_loopback_only_and_promtool_reads_them(store: SQLiteStore) -> None:
    registry = run_registry(store.summaries)
    BootMetrics(registry).observe("/ipxe", 200, 0.002)
    app = web_app(registry)
    answer = TestClient(app, client=LOOPBACK).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["cache-control"] == "no-store"
    assert 'strata_servers{layer="mgmt",state="declared"} 2.0' in answer.text
    promtool_check(answer.content)
    elsewhere = TestClient(app, client=("192.168.1.9", 50000)).get("/metrics")
    assert elsewhere.status_code == 403 and "strata_" not in elsewhere.text
    assert TestClient(app, client=LOOPBACK).post("/metrics").status_code == 405


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
