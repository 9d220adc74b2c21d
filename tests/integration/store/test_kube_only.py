"""What only the Kubernetes store has, against the real kube-apiserver: the Server CRD
as the API server serves it (printer columns through kubectl and the Table API), no
secret in any object but a Secret, the log's retention bound, human-facing Events
bounded, and the API requests a server costs from declared to provisioned."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time

import httpx
import pytest

from strata.provisioning import Stage, UnknownMachine
from strata.store import Conflict, KubeStore, KubeStoreError, RecordWrite
from strata.store import kube_store as kube_store_module
from strata.store.clusters import StoredCluster
from tests.integration.store.conftest import NAMESPACE, kube_store
from tests.support.kube_api import ControlPlane

PLAN = {"layer": "mgmt", "region": "eu", "zone": "z1", "rack": "r7", "os_version": "1"}
SERVERS = f"/apis/strata.dev/v1alpha1/namespaces/{NAMESPACE}/servers"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def fresh(plane: ControlPlane, prefix: str, **options: float) -> KubeStore:
    store = kube_store(plane, f"{prefix}{secrets.token_hex(3)}")
    for name, value in options.items():
        setattr(store.log if name in ("size", "keep") else store, name, value)
    return store


def test_the_crd_is_served_with_its_columns(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "cols")
    store.write_records([RecordWrite("n1", 0, "registering", plan=PLAN)])
    name = f"{store.topology}.n1"
    with crd_applied.client() as api:
        table = api.get(f"{SERVERS}/{name}", headers={"Accept": TABLE}).json()
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns == ["Name", "State", "Layer", "Rack", "Age"]
    assert table["rows"][0]["cells"][:4] == [name, "registering", "mgmt", "r7"]
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return
    config = str(crd_applied.admin_kubeconfig())
    shown = subprocess.run(
        [kubectl, "--kubeconfig", config, "-n", NAMESPACE, "get", "srv", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert shown[0].split() == ["NAME", "STATE", "LAYER", "RACK", "AGE"]
    assert shown[1].split()[:4] == [name, "registering", "mgmt", "r7"]


def test_no_secret_outside_secrets(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "sec")
    token = f"{secrets.token_hex(3)}.{secrets.token_hex(8)}"
    pki, certificate_key = json.dumps({"ca_key": secrets.token_hex(24)}), secrets.token_hex(32)
    store.keep_cluster(StoredCluster("mgmt", pki, token, 2e9, certificate_key, 1.0, 1.0))
    rotated = f"{secrets.token_hex(3)}.{secrets.token_hex(8)}"
    store.rotate_cluster_token("mgmt", token, rotated, 3e9, 2.0)
    key = store.token_key()
    store.write_records([RecordWrite("n1", 0, "declared", plan=PLAN, event=("declared", {}))])
    attempt = store.begin_attempt("n1", 600)
    store.consume("n1", attempt.number, Stage.LIVE)
    store.record("n1", "installed", {"attempt": attempt.number})
    store.record_unknown(UnknownMachine("52:54:00:00:00:09", None, None, None, None))
    store.set_cursor("controller", 3)
    store.acquire_writer("test", 30)
    values = [pki, token, rotated, certificate_key, key.hex()]
    encoded = [secrets_b64(v.encode()) for v in values] + [secrets_b64(key)]
    with crd_applied.client() as api:
        texts = {
            path: api.get(path).text
            for path in (
                SERVERS,
                f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                f"/api/v1/namespaces/{NAMESPACE}/events",
                f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases",
            )
        }
        topologies = api.get(f"/apis/strata.dev/v1alpha1/namespaces/{NAMESPACE}/topologies")
        if topologies.status_code == 200:
            texts["topologies"] = topologies.text
        kept = api.get(f"/api/v1/namespaces/{NAMESPACE}/secrets").text
    assert store.topology in texts[SERVERS]  # the objects were read
    for where, text in texts.items():
        assert [v for v in values + encoded if v in text] == [], where
    assert secrets_b64(rotated.encode()) in kept and secrets_b64(key) in kept  # grep works


def secrets_b64(value: bytes) -> str:
    import base64

    return base64.b64encode(value).decode()


def test_the_log_keeps_a_bounded_number_of_segments(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "ret", size=3, keep=2)
    for i in range(20):
        store.record("n1", "installed", {"i": i})
    segments = store.log.segments()
    assert len(segments) == 2
    kept = store.events_since(0)
    assert [e.detail["i"] for e in kept] == list(range(20 - len(kept), 20))
    assert [e.id for e in kept] == sorted(e.id for e in kept) and len(kept) <= 6
    assert store.events_since(5)[0] == kept[0]  # a cursor behind the bound: the oldest kept


def test_a_full_segment_is_read_once(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "sealed", size=3)
    reader = kube_store(crd_applied, store.topology)
    reader.log.size = 3
    store.record_many([("n1", "installed", {"i": i}) for i in range(7)])  # 3 + 3 + 1
    assert [e.detail["i"] for e in reader.events_since(0)] == list(range(7))
    before = reader.requests.by_resource["GET configmaps"]
    store.record("n1", "installed", {"i": 7})
    assert [e.detail["i"] for e in reader.events_since(2)] == list(range(2, 8))
    # the two full segments come from memory; the head is asked for, not the one after
    # it (made only once the head is full)
    assert reader.requests.by_resource["GET configmaps"] - before == 1
    store.record_many([("n1", "installed", {"i": i}) for i in range(8, 12)])  # 2 full, 3 made
    assert [e.detail["i"] for e in reader.events_since(8)] == list(range(8, 12))


def test_a_segment_is_closed_when_it_would_grow_too_large(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "big")
    store.log.max_bytes = 600
    for i in range(8):
        store.record("n1", "detail", {"i": i, "pad": "x" * 200})
    entries = store.events_since(0)
    assert [e.detail["i"] for e in entries] == list(range(8))
    assert len(store.log.segments()) > 2
    assert all(len(s["data"].get("entries", "")) <= 600 + 300 for s in store.log.segments())


def test_state_changes_are_told_as_events_within_a_budget(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "ev")
    store.servers._per_second = 0.0  # no refill: the burst is all there is
    store.write_records([RecordWrite(f"n{i}", 0, "declared", plan=PLAN) for i in range(25)])
    store.write_records([RecordWrite("n0", 1, "failed", step="inspecting", reason="NIC")])
    assert store.requests.events == 20 and store.servers.events_dropped == 6
    with crd_applied.client() as api:
        items = api.get(f"/api/v1/namespaces/{NAMESPACE}/events").json()["items"]
    told = [e for e in items if e["involvedObject"]["name"].startswith(f"{store.topology}.")]
    assert len(told) == 20
    event = told[0]
    assert event["involvedObject"]["kind"] == "Server" and event["involvedObject"]["uid"]
    assert (event["reason"], event["type"], event["message"]) == (
        "Declared",
        "Normal",
        "new -> declared",
    )


def test_a_switch_to_the_fallback_bmc_is_told_as_a_warning(crd_applied: ControlPlane) -> None:
    """Not a state change, but what a person watching `kubectl get events` must see."""
    store = fresh(crd_applied, "bmcfb")
    store.write_records([RecordWrite("n0", 0, "declared", plan=PLAN)])
    switched = {"from": "redfish://10.0.0.1", "to": "ipmi://10.0.0.1:623", "reason": "timed out"}
    store.write_records(
        [RecordWrite("n0", 1, "registering", step="check-bmc", event=("bmc-fallback", switched))]
    )
    with crd_applied.client() as api:
        items = api.get(f"/api/v1/namespaces/{NAMESPACE}/events").json()["items"]
    told = [e for e in items if e["involvedObject"]["name"] == f"{store.topology}.n0"]
    [fallback] = [e for e in told if e["reason"] == "BMCFallback"]
    assert fallback["type"] == "Warning"
    assert fallback["message"] == (
        "BMC redfish://10.0.0.1 failed: timed out; going on through ipmi://10.0.0.1:623"
    )
    assert {e["reason"] for e in told} == {"Declared", "Registering", "BMCFallback"}


def test_api_writes_per_server_from_declared_to_provisioned(crd_applied: ControlPlane) -> None:
    """The store calls one run makes for ``n`` servers, batched as the controller
    batches them (one flush per step for all servers; the boot service one call per
    request). Figures go to the report; the assertions are what the store adds."""
    n, topology = 20, f"cost{secrets.token_hex(3)}"
    store = KubeStore(crd_applied.client(), NAMESPACE, topology)  # the log's default shape
    boot = store  # strata controller's boot service writes through the controller's store
    nodes = [f"n{i}" for i in range(n)]
    version = dict.fromkeys(nodes, 0)
    started = time.monotonic()

    def step(state: str, event: str) -> None:
        plan = PLAN if state == "declared" else None
        store.write_records(
            [RecordWrite(x, version[x], state, plan=plan, event=(event, {})) for x in nodes]
        )
        for x in nodes:
            version[x] += 1

    for state, event in RECORD_STEPS[:5]:
        step(state, event)
    for x in nodes:  # prepare_boot
        attempt = store.begin_attempt(x, 600)
        store.set_marks(x, {"attempt": attempt.number})
        store.set_marks(x, {"attempt": attempt.number, "prepared": attempt.number})
    step(*RECORD_STEPS[5])
    for x in nodes:  # power_on
        store.set_marks(x, {"attempt": 1, "prepared": 1, "powered": 1})
    step(*RECORD_STEPS[6])
    for x in nodes:  # the boot service: iPXE script, two Ignition configs, phone-home
        boot.record(x, "ipxe-fetched", {})
        assert boot.consume(x, 1, Stage.LIVE)
        boot.record(x, "ignition-fetched", {"stage": "live"})
    step(*RECORD_STEPS[7])
    for x in nodes:
        assert boot.consume(x, 1, Stage.FINAL)
        boot.record(x, "ignition-fetched", {"stage": "final"})
        boot.record(x, "installed", {})
    step(*RECORD_STEPS[8])
    for x in nodes:
        store.end_attempt(x, provisioned=True)
    assert store.records()["n0"].state == "provisioned" and store.attempt("n0") is None
    elapsed = time.monotonic() - started
    made = store.requests.by_resource
    total = sum(made.values())
    print(f"\n{total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s)")
    writes, reads = store.requests.writes, store.requests.reads
    print(
        f"\nper server: {writes / n:.2f} API writes, {reads / n:.2f} reads, {store.requests.events / n:.2f} Events; {dict(made)}"
    )
    # a Server is read when first written (it may exist) and when its attempt is asked
    # for; every other write starts from the Server as this store last wrote it
    assert made["GET servers"] <= 2 * n + 1
    # one write to the Server per record step, attempt change, mark and token (no 409:
    # nothing else writes), its creation; the log: one append per batch of the
    # controller, one per entry of the boot service, and a new segment per 100 entries
    per_server = 1 + len(RECORD_STEPS) + 1 + 3 + 1 + 2
    assert made["POST servers"] + made["PUT servers/status"] == per_server * n
    entries = n * (len(RECORD_STEPS) + 4)
    assert (
        made["PUT configmaps"] + made["POST configmaps"]
        <= len(RECORD_STEPS) + 4 * n + entries // 100 + 2
    )
    assert writes == sum(v for k, v in made.items() if not k.startswith(("GET", "POST events")))


RECORD_STEPS = [
    ("declared", "declared"),
    ("registering", "start"),
    ("inspecting", "bmc-ok"),
    ("ready", "inspection-passed"),
    ("provisioning", "provision"),
    ("provisioning", "boot-prepared"),
    ("booting", "powered-on"),
    ("installing", "ignition-fetched"),
    ("provisioned", "installed"),
]


def test_a_servers_status_keeps_its_recent_history(crd_applied: ControlPlane) -> None:
    store = fresh(crd_applied, "hist")
    store.write_records([RecordWrite("n1", 0, "declared", plan=PLAN, event=("declared", {}))])
    for version in range(1, 26):
        store.write_records([RecordWrite("n1", version, "booting", event=("e", {"v": version}))])
    attempt = store.begin_attempt("n1", 600, now=1000.0)
    store.consume("n1", attempt.number, Stage.FINAL)
    with crd_applied.client() as api:
        server = api.get(f"{SERVERS}/{store.topology}.n1").json()
    status = server["status"]
    # status writes send the status alone (no plan, labels, managedFields): all kept
    assert server["spec"] == PLAN and server["metadata"]["labels"]["strata.dev/rack"] == "r7"
    assert {f["manager"] for f in server["metadata"]["managedFields"]} == {"strata"}
    assert [h["detail"]["v"] for h in status["history"]] == list(range(6, 26))
    assert status["history"][-1]["state"] == "booting" and status["version"] == 26
    assert status["attempt"] == {
        "number": 1,
        "expires": 1600,
        "provisioned": False,
        "consumed": [int(Stage.FINAL)],
    }
    assert len(store.events("n1")) == 26  # the log keeps every entry


def test_a_kubeconfig_opens_the_store_and_api_errors_are_named(
    crd_applied: ControlPlane,
) -> None:
    store = KubeStore.from_kubeconfig(crd_applied.admin_kubeconfig(), NAMESPACE, "viakubeconfig")
    store.set_cursor("controller", 5)
    assert store.cursor("controller") == 5 and store.requests.writes >= 1
    elsewhere = KubeStore(crd_applied.client(), "no-such-namespace", "x")
    with pytest.raises(KubeStoreError, match=r"POST /api.*/servers: 404 NotFound"):
        elsewhere.write_records([RecordWrite("n1", 0, "declared", plan=PLAN)])
    anonymous = httpx.Client(base_url=crd_applied.url, verify=crd_applied.ssl_context())
    with anonymous, pytest.raises(KubeStoreError, match="403 Forbidden") as refused:
        KubeStore(anonymous, NAMESPACE, "x").token_key()
    assert refused.value.status == 403


def test_a_writer_between_check_and_update_puts_the_batch_back(
    crd_applied: ControlPlane,
) -> None:
    """Another store writes n2 just before this store's update of n2 reaches the API
    (an httpx request hook on this store's client): n1, already written, and n3, made
    by the batch, are put back; the log has none of the batch's entries."""
    topology = f"race{secrets.token_hex(3)}"
    other = kube_store(crd_applied, topology)
    other.write_records(
        [RecordWrite(n, 0, "declared", plan=PLAN, event=("declared", {})) for n in ("n1", "n2")]
    )
    before = {n: crd_applied.client().get(f"{SERVERS}/{topology}.{n}").json() for n in ("n1", "n2")}
    cut_in: list[str] = []

    def hook(request: httpx.Request) -> None:
        if request.method == "PUT" and request.url.path.endswith(".n2/status") and not cut_in:
            cut_in.append("n2")
            other.write_records([RecordWrite("n2", 1, "maintenance", event=("other", {}))])

    client = crd_applied.client()
    client.event_hooks["request"] = [hook]
    store = KubeStore(client, NAMESPACE, topology, segment_size=7)
    with pytest.raises(Conflict, match="node n2: record is at version 2, not 1"):
        store.write_records(
            [
                RecordWrite("n1", 1, "registering", plan={**PLAN, "rack": "r9"}, event=("a", {})),
                RecordWrite("n3", 0, "declared", plan=PLAN, event=("b", {})),
                RecordWrite("n2", 1, "registering", event=("c", {})),
            ]
        )
    records = other.records()
    assert set(records) == {"n1", "n2"}  # n3 deleted again
    assert (records["n1"].version, records["n1"].state, records["n1"].plan) == (1, "declared", PLAN)
    assert (records["n2"].version, records["n2"].state) == (2, "maintenance")
    after = crd_applied.client().get(f"{SERVERS}/{topology}.n1").json()
    assert after["status"] == before["n1"]["status"]
    assert after["metadata"]["labels"] == before["n1"]["metadata"]["labels"]
    assert [e.kind for e in other.events_since(0)] == ["declared", "declared", "other"]


def test_machines_in_no_topology_are_kept_within_a_bound(
    crd_applied: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube_store_module, "UNKNOWN_KEPT", 3)
    store = fresh(crd_applied, "unk")
    for i in range(5):
        store.record_unknown(UnknownMachine(f"52:54:00:00:00:0{i}", None, None, None, None))
    store.record_unknown(UnknownMachine("52:54:00:00:00:04", None, None, None, None))
    kept = store.unknown_machines()
    assert [m["mac"][-1] for m in kept] == ["2", "3", "4"] and kept[-1]["boots"] == 2
