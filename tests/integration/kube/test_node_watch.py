"""Each layer's watch of Nodes against the real kube-apiserver: one list and one watch
per layer whatever the number of nodes, news written only when it changes, a Node with
another providerID never taken for the node, an API that does not answer said so; and
the controller taking nodes to joined from what the watch writes to the event log.

Nodes are registered here the way a kubelet registers itself (POST the Node, then its
Ready condition on the status subresource): no kubelet runs in these tests."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.kube import watch as watch_module
from strata.kube.tokens import BootstrapToken
from strata.kube.watch import AdminCredential, LayerWatch, NodeWatcher, ensure_token
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.provisioning import LogKind
from strata.store import SQLiteStore
from tests.support.kube_api import ControlPlane, free_port, wait_for
from tests.support.node_api import NodeAPI

Entry = tuple[str, str, dict[str, Any]]


def credential(plane: ControlPlane) -> AdminCredential:
    return AdminCredential(plane.pki.ca.cert_pem, plane.admin.cert_pem, plane.admin.key_pem)


def register(client: httpx.Client, name: str, provider_id: str) -> None:
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    body["spec"] = {"providerID": provider_id}
    client.post("/api/v1/nodes", json=body).raise_for_status()


def set_ready(
    client: httpx.Client, name: str, ready: bool, reason: str, message: str, boot: str = "b-1"
) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }
    patch = {"status": {"conditions": [condition], "nodeInfo": {"bootID": boot}}}
    headers = {"Content-Type": "application/strategic-merge-patch+json"}
    client.patch(f"/api/v1/nodes/{name}/status", json=patch, headers=headers).raise_for_status()


@pytest.fixture
def nodes_api(plane: ControlPlane) -> Iterator[httpx.Client]:
    """The admin client; every Node it made is deleted afterwards."""
    with plane.client() as client:
        yield client
        for item in client.get("/api/v1/nodes").json()["items"]:
            client.delete(f"/api/v1/nodes/{item['metadata']['name']}")


class Entries:
    """What the watch writes to the log, and in how many writes."""

    def __init__(self) -> None:
        self.items: list[Entry] = []
        self.writes = 0
        self.lock = threading.Lock()

    def __call__(self, entries: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
        with self.lock:
            self.items += [(node, kind, dict(detail)) for node, kind, detail in entries]
            self.writes += 1

    def of(self, node: str) -> list[str]:
        with self.lock:
            return [k for n, k, _ in self.items if n == node]


def test_one_list_and_one_watch_follow_every_node(
    plane: ControlPlane, nodes_api: httpx.Client
) -> None:
    names = [f"w-{i}" for i in range(12)]
    wanted = {n: f"strata://t/{n}" for n in ["cp-0", *names]}
    entries = Entries()
    layer = LayerWatch("mgmt", plane.url, lambda: credential(plane), "cp-0", wanted)
    watcher = NodeWatcher([layer], entries)
    watcher.start()
    try:
        wait_for(lambda: LogKind.API_ANSWERED in entries.of("cp-0") or None, 30, "api-answered")
        register(nodes_api, "cp-0", wanted["cp-0"])
        set_ready(
            nodes_api, "cp-0", False, "KubeletNotReady", "container runtime network not ready"
        )
        wait_for(lambda: LogKind.NODE_REGISTERED in entries.of("cp-0") or None, 30, "registered")
        set_ready(nodes_api, "cp-0", True, "KubeletReady", "kubelet is posting ready status")
        for name in names:
            register(nodes_api, name, wanted[name])
            set_ready(nodes_api, name, True, "KubeletReady", "kubelet is posting ready status")
        register(nodes_api, "stranger", "strata://t/stranger")  # not one of the layer's
        for name in ["cp-0", *names]:
            wait_for(
                lambda n=name: LogKind.NODE_READY in entries.of(n) or None, 30, f"{name} Ready"
            )
        set_ready(nodes_api, "w-0", True, "KubeletReady", "still ready")  # no news
        # w-1's machine reinstalled: a new boot's kubelet, Ready on the Node that was
        set_ready(nodes_api, "w-1", True, "KubeletReady", "ready again", boot="b-2")
        wait_for(lambda: entries.of("w-1").count(LogKind.NODE_READY) == 2 or None, 30, "reboot")
        time.sleep(1)
    finally:
        watcher.stop()
    assert watcher.requests == 2, "one list and one watch for the layer, however many nodes"
    registered, ready = LogKind.NODE_REGISTERED, LogKind.NODE_READY
    assert entries.of("cp-0") == [LogKind.API_ANSWERED, registered, registered, ready]
    assert all(entries.of(n) in ([registered, ready], [ready]) for n in names if n != "w-1")
    assert entries.of("w-1") in ([registered, ready, ready], [ready, ready])
    assert entries.of("stranger") == []
    reasons = [d["reason"] for n, k, d in entries.items if n == "cp-0" and k == registered]
    assert reasons == [
        "no Ready condition yet",
        "KubeletNotReady: container runtime network not ready",
    ]


def test_a_node_with_another_provider_id_is_never_taken_for_the_node(
    plane: ControlPlane, nodes_api: httpx.Client
) -> None:
    entries = Entries()
    layer = LayerWatch(
        "mgmt", plane.url, lambda: credential(plane), "cp-0", {"w-9": "strata://t/w-9"}
    )
    watcher = NodeWatcher([layer], entries)
    watcher.start()
    try:
        register(nodes_api, "w-9", "strata://another/w-9")
        set_ready(nodes_api, "w-9", True, "KubeletReady", "ready")
        wait_for(lambda: entries.of("w-9") or None, 30, "news of w-9")
    finally:
        watcher.stop()
    assert entries.of("w-9") == [LogKind.NODE_REGISTERED]
    why = next(d["reason"] for n, _, d in entries.items if n == "w-9")
    assert why == "a Node named w-9 has providerID strata://another/w-9, not strata://t/w-9"


def test_an_api_that_does_not_answer_is_said_once(plane: ControlPlane) -> None:
    entries = Entries()
    closed = f"https://127.0.0.1:{free_port()}"
    layer = LayerWatch("mgmt", closed, lambda: credential(plane), "cp-0", {})
    watcher = NodeWatcher([layer], entries, retry_seconds=0.2)
    watcher.start()
    try:
        wait_for(lambda: entries.of("cp-0") or None, 30, "api-unreachable")
        time.sleep(1)  # several tries: still said once
    finally:
        watcher.stop()
    assert entries.of("cp-0") == [LogKind.API_UNREACHABLE]
    why = next(d["reason"] for n, _, d in entries.items if n == "cp-0")
    assert why.startswith("ConnectError")


def test_the_controller_takes_nodes_to_joined_from_the_watch(
    plane: ControlPlane, nodes_api: httpx.Client, tmp_path: Path
) -> None:
    """The fleet installs; this test registers each installed node's Node as its kubelet
    would, except one, which fails joining: never registered with the layer's API."""
    topo = generated_topology(1, 4)
    store = SQLiteStore(tmp_path / "state.db")
    fast = FleetSettings(
        latency=(0.001, 0.002), boot_seconds=(0.02, 0.05), install_seconds=(0.02, 0.05)
    )
    fleet = Fleet(topo, store, fast)
    plan = build_plan(topo, *recorded(store))
    cluster = plan.clusters[0]
    wanted = {n.name: f"strata://{plan.topology}/{n.name}" for n in plan.nodes}
    silent = cluster.workers[-1]
    layer = LayerWatch(
        cluster.name, plane.url, lambda: credential(plane), cluster.control_plane[0], wanted
    )
    watcher = NodeWatcher([layer], store.record_many)
    stop = threading.Event()

    def kubelets() -> None:
        done: set[str] = set()
        while not stop.wait(0.1):
            for name, machine in fleet.machines.items():
                if machine.installed and name not in done and name != silent:
                    done.add(name)
                    register(nodes_api, name, wanted[name])
                    set_ready(
                        nodes_api, name, True, "KubeletReady", "kubelet is posting ready status"
                    )

    thread = threading.Thread(target=kubelets, daemon=True)
    timeouts = ApplyOptions().timeouts.with_overrides({"joining": 8.0})
    options = ApplyOptions(poll_interval=0.05, target=State.JOINED, timeouts=timeouts)
    watcher.start()
    thread.start()
    try:
        summary = Reconciler(plan, store, fleet, options).run()
    finally:
        stop.set()
        thread.join(5)
        watcher.stop()
        fleet.close()
        store.close()
    assert {n: s for n, s in summary.states.items() if n != silent} == {
        n.name: State.JOINED for n in plan.nodes if n.name != silent
    }
    assert summary.states[silent] is State.FAILED
    assert f"it never registered with the API at {cluster.endpoint}" in summary.failed[silent]
    assert watcher.requests == 2


def test_a_rotated_token_is_made_real_in_the_cluster_once_its_api_answers(
    plane: ControlPlane,
) -> None:
    """kubeadm init made the first token; one Strata rotated later exists only in its
    state until the watch, on the API's answer, creates its Secret (again: no error)."""
    token = BootstrapToken.generate(datetime.datetime.now(datetime.UTC))
    for _ in range(2):  # a second connect finds it there
        entries = Entries()
        layer = LayerWatch(
            "mgmt", plane.url, lambda: credential(plane), "cp-0", {}, ensure_token(token)
        )
        watcher = NodeWatcher([layer], entries)
        watcher.start()
        try:
            wait_for(lambda e=entries: e.of("cp-0") or None, 30, "news of the API")
        finally:
            watcher.stop()
        assert entries.of("cp-0") == [LogKind.API_ANSWERED]
    with plane.client() as client:
        secret = client.get(f"/api/v1/namespaces/kube-system/secrets/{token.secret_name}")
    assert secret.status_code == 200
    assert secret.json()["type"] == "bootstrap.kubernetes.io/token"


def test_news_is_written_in_batches_in_order_and_all_of_it_by_stop() -> None:
    """What the watches say within ``batch_seconds`` is one write; a write that fails is
    tried again with the same news, in order; stop writes what is left."""
    entries, failed = Entries(), []

    def write(batch: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
        if not failed:
            failed.append(len(batch))
            raise OSError("disk full")
        entries(batch)

    watcher = NodeWatcher([], write, retry_seconds=0.05, batch_seconds=0.2)
    watcher.start()
    try:
        for i in range(5):
            watcher._say(f"n{i}", ("node", f"n{i}"), "ready", LogKind.NODE_READY, {})
        watcher._say("n0", ("node", "n0"), "ready", LogKind.NODE_READY, {})  # said already
        wait_for(lambda: entries.items or None, 10, "the first write")
        watcher._say("n5", ("node", "n5"), "ready", LogKind.NODE_READY, {})
    finally:
        watcher.stop()
    assert failed == [5]
    assert [n for n, _, _ in entries.items] == [f"n{i}" for i in range(6)]
    assert entries.writes == 2, "the five together (tried again), then the last at stop"


def test_an_api_that_comes_up_later_is_followed_over_the_client_already_made(
    plane: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused until the init node's ``kubeadm init`` (the simulated API of
    bench/lifecycle_scale.py): tried again and again with the same credential, over one
    client (its TLS context made once), then followed; a new credential, a new client."""
    made: list[AdminCredential] = []
    real_client = watch_module._client

    def counted(layer: LayerWatch, credential: AdminCredential) -> Any:
        made.append(credential)
        return real_client(layer, credential)

    monkeypatch.setattr(watch_module, "_client", counted)
    api = NodeAPI("mgmt", plane.pki.ca)
    held = [credential(plane)]
    entries = Entries()
    layer = LayerWatch("mgmt", api.url, lambda: held[0], "cp-0", {"cp-0": "strata://t/cp-0"})
    watcher = NodeWatcher([layer], entries, retry_seconds=0.1)
    watcher.start()
    try:
        wait_for(lambda: entries.of("cp-0") or None, 30, "api-unreachable")
        time.sleep(0.5)  # tried again, several times
        api.answer()
        api.set_node("cp-0", "strata://t/cp-0", ready=True)
        wait_for(lambda: LogKind.NODE_READY in entries.of("cp-0") or None, 30, "cp-0 Ready")
        assert made == [held[0]], "one client for every try with the same credential"
        held[0] = credential(plane)  # equal, but a new one: as after half its lifetime
    finally:
        api.close()  # the watch ends; the next try makes a client with the new one
    try:
        wait_for(lambda: len(made) == 2 or None, 30, "a client with the new credential")
    finally:
        watcher.stop()
    assert made[1] is held[0]
    said = entries.of("cp-0")
    assert said[0] == LogKind.API_UNREACHABLE  # then Ready (listed or watched) and answered
    assert sorted(said[1:3]) == sorted([LogKind.API_ANSWERED, LogKind.NODE_READY])
