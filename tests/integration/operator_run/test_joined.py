"""`strata controller --until joined` (a subprocess) takes a Topology's servers to
`joined`: each layer's cluster material kept in the cluster, every machine installed
through sushy-tools' emulated BMCs, the layer's Kubernetes brought up from the init
node's Ignition and every other node joining with its bootstrap token
(``tests/support/join_standin.py``: a real kube-apiserver, etcd and controller manager
at the layer's VIP; each Node registered as its kubelet would, after token discovery
and a TLS bootstrap the real controller manager signs), seen by the controller's watch
of the layer's Nodes. A node whose kubelet never registers fails `joining` with the
reason in its Server's status.

The layer's VIP is a loopback address of the test host (127.0.0.0/8 is all loopback):
the test's stand-in holds it, as the lab holds its VIP on its bridge."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.lab.image import stand_in_kube_artifacts
from strata.lab.ports import free_port
from strata.plan import build_plan
from strata.topology import load
from tests.support.join_standin import JoinStandIn
from tests.support.kube_api import wait_for

TIMEOUT = 600.0  # s: a hang guard; about a minute alone on 2 cores


@pytest.fixture
def joining(make_run: Any, tmp_path: Path) -> Iterator[Any]:
    """``joining(count, silent)``: a run of ``count`` machines whose Topology (returned
    as a document) puts its layer's VIP on loopback, each machine's Kubernetes started
    from its config once it boots its installed OS; the machines at positions
    ``silent`` never register."""
    made: list[tuple[Any, JoinStandIn]] = []

    def make(count: int, silent: tuple[int, ...] = ()) -> tuple[Any, dict[str, Any], JoinStandIn]:
        run = make_run(count)
        document = run.document(run.systems, "lab")
        vip = f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        document["layers"][0]["endpoint"] = {"vip": vip, "network": "bmc", "port": free_port(vip)}
        file = tmp_path / "lab.yaml"
        file.write_text(yaml.safe_dump(document))
        stand_in_kube_artifacts(run.directory / "artifacts", build_plan(load(file)))
        standin = JoinStandIn(tmp_path / "kube", [run.systems[i].name for i in silent])
        made.append((run, standin))
        run.machines.on_first_boot = lambda machine, config: standin.hand_over(config)
        return run, document, standin

    yield make
    for run, standin in made:  # the controller first: its watch follows the layer's API
        run.stop()
        standin.stop()


def _states(run: Any) -> dict[str, str]:
    return {s["metadata"]["name"]: s["status"].get("state", "") for s in run.servers()}


def _layer_nodes(standin: JoinStandIn) -> dict[str, dict[str, Any]]:
    with standin.planes[0].client() as api:
        items = api.get("/api/v1/nodes").raise_for_status().json()["items"]
    return {n["metadata"]["name"]: n for n in items}


def test_a_topology_applied_takes_every_server_to_joined(joining: Any) -> None:
    run, document, standin = joining(3)
    run.start("--until", "joined")
    run.create(document)
    ready = run.wait_condition("lab", "Ready", "True", 1, timeout=TIMEOUT)
    assert ready["reason"] == "AllServersReady", ready
    status = run.get("lab")["status"]
    assert status["servers"] == 3 and status["states"] == {"joined": 3}
    assert status["layers"] == {"mgmt": {"joined": 3}}
    assert _states(run) == {f"lab.{s.name}": "joined" for s in run.systems}
    assert standin.errors == {}
    nodes = _layer_nodes(standin)  # the layer's cluster: every node, as itself
    assert {name: n["spec"]["providerID"] for name, n in nodes.items()} == {
        s.name: f"strata://lab/{s.name}" for s in run.systems
    }
    workers = [s.name for s in run.systems[1:]]
    assert sorted(standin.registered) == sorted(s.name for s in run.systems)
    assert len(standin.requestors) == len(workers)  # each worker TLS-bootstrapped
    assert all(r.startswith("system:bootstrap:") for r in standin.requestors)
    for system in run.systems:
        machine = run.machines.by_name(system.name)
        assert machine.errors == [] and machine.power_ons == 1
        assert machine.boots == ["net", "disk"]


def test_a_node_that_never_registers_fails_joining_with_its_reason(joining: Any) -> None:
    """The init node joins; the worker's kubelet never starts: its Node never appears
    in the layer's API, and the joining phase (90 s here) ends it as failed."""
    run, document, standin = joining(2, silent=(1,))
    silent = run.systems[1].name
    run.start("--until", "joined", "--timeout", "joining=90")
    run.create(document)

    def servers_failed() -> dict[str, Any] | None:
        run.check_alive()
        found = run.condition("lab", "Degraded")
        return found if found and found["reason"] == "ServersFailed" else None

    degraded = wait_for(servers_failed, TIMEOUT, "Degraded=True: ServersFailed")
    init = run.systems[0].name
    states = _states(run)
    assert states == {f"lab.{init}": "joined", f"lab.{silent}": "failed"}
    server = next(s for s in run.servers() if s["metadata"]["name"] == f"lab.{silent}")
    endpoint = document["layers"][0]["endpoint"]
    api = f"https://{endpoint['vip']}:{endpoint['port']}"
    reason = server["status"]["reason"]
    assert f"it never registered with the API at {api}" in reason, server["status"]
    assert silent in degraded["message"]
    assert run.condition("lab", "Ready")["status"] == "False"
    assert run.get("lab")["status"]["layers"] == {"mgmt": {"joined": 1, "failed": 1}}
    assert set(_layer_nodes(standin)) == {init}
    assert standin.errors == {}
    assert run.machines.by_name(silent).boots == ["net", "disk"]  # installed, then silent
