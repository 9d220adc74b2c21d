"""Preflight on whether the controller the move starts can serve the provisioning
network (docs/pivot.md, "Preflight"), and which controller ``auto`` starts:

- a Node that is Ready but holds no container image (a kubelet that cannot pull, as in
  the lab; a Node written through the API) runs no pod: ``auto`` chooses the host,
  and says why; with an image it can, and ``auto`` chooses the cluster;
- on the host: a boot endpoint not on this host's interfaces or outside the
  topology's provisioning CIDR, and a DHCP interface without an address there, are
  refused, each naming the address and the network, with every other finding at once;
  a dry run shows them; a loopback ``--url`` (machines on this host) is said;
- in the cluster: no Node that can run the controller with an InternalIP in the
  provisioning network is refused; one is enough;
- the Deployment the install makes is pinned to exactly the Nodes with an InternalIP
  in the provisioning network (a required node affinity on their names) and runs on
  their network; a dry run says so; the API server takes it as made.

FILE is the lab's topology (provisioning 192.168.110.0/24); the API server runs no
kubelet, so the Nodes are written by the test as a kubelet registers them."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.pki import issue_client_cert
from strata.operator import manifests
from strata.pivot import End, Options, Pivot, PivotRefused
from strata.pivot.from_file import InstallOptions
from strata.pivot.resume import schedulable
from strata.store import KubeStore
from tests.integration.pivot.conftest import TOPOLOGY, provisioned_state, run_pivot, to_cluster
from tests.support.kube_api import ControlPlane, wait_for
from tests.support.layer_state import LAB

NETWORK = "the provisioning network provisioning (192.168.110.0/24)"
PAUSE = [{"names": ["registry.k8s.io/pause:3.2"], "sizeBytes": 299513}]


@pytest.fixture
def nodes(plane: ControlPlane) -> Iterator[list[str]]:
    """The Nodes a test made, deleted after it (the plane is the package's)."""
    made: list[str] = []
    yield made
    with plane.client() as api:
        for name in made:
            api.delete(f"/api/v1/nodes/{name}")


def _node(plane: ControlPlane, name: str, address: str, images: list[Any]) -> None:
    """A Ready Node as a kubelet registers one: its status in the create."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady"}
    ready |= {"lastHeartbeatTime": now, "lastTransitionTime": now}
    status = {"conditions": [ready], "addresses": [{"type": "InternalIP", "address": address}]}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    node |= {"spec": {}, "status": status | ({"images": images} if images else {})}
    with plane.client() as api:
        made = api.post("/api/v1/nodes", json=node)
        assert made.status_code == 201, made.text


def _settled(plane: ControlPlane, names: set[str]) -> None:
    """The node lifecycle controller taints a new Node not-ready until its next pass
    sees it Ready: awaited (every name untainted), not raced."""
    with plane.client() as api:

        def untainted() -> bool | None:
            found = {n["metadata"]["name"]: n for n in api.get("/api/v1/nodes").json()["items"]}
            return all(not (found[n].get("spec") or {}).get("taints") for n in names) or None

        wait_for(untainted, 60, f"{sorted(names)} untainted")


def _pivot(
    tmp_path: Path, plane: ControlPlane, namespace: str, lines: list[str], **kw: Any
) -> Pivot:
    state = tmp_path / "strata.db"
    if not state.exists():
        provisioned_state(state, 2).close()
    file = tmp_path / "topology.yaml"
    shutil.copy(LAB, file)
    install = InstallOptions(file=file, credentials="leave")
    options = Options(say=lines.append, install=install, **kw)
    target = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    return Pivot(End.sqlite(state, TOPOLOGY), target, options)


def _said(lines: list[str], level: str, text: str) -> list[str]:
    return [x for x in lines if x.startswith(f"preflight {level:5}") and text in x]


def test_auto_runs_the_controller_on_the_host_when_no_node_runs_pods(
    plane: ControlPlane, namespace: str, tmp_path: Path, nodes: list[str]
) -> None:
    _node(plane, "no-images", "192.168.110.21", [])
    nodes.append("no-images")
    _settled(plane, {"no-images"})
    api = KubeStore.from_kubeconfig(plane.admin_kubeconfig(), namespace, TOPOLOGY).api
    assert schedulable(api, namespace) == []
    lines: list[str] = []
    _pivot(tmp_path, plane, namespace, lines, dry_run=True, controller="auto").run()
    said = _said(lines, "note", "the target cannot run the controller")
    assert said and "1 Ready, none holding a container image" in said[0], lines
    assert "auto chooses it" in said[0]
    _node(plane, "with-images", "192.168.110.22", PAUSE)
    nodes.append("with-images")
    _settled(plane, {"with-images"})
    assert schedulable(api, namespace) == ["with-images"]
    lines = []
    _pivot(tmp_path, plane, namespace, lines, dry_run=True, controller="auto").run()
    assert _said(lines, "ok", "1 of 2 Nodes Ready, running pods and schedulable (with-images)")
    assert _said(lines, "ok", f"on a Node in {NETWORK}: with-images"), lines


def test_a_host_boot_endpoint_the_provisioning_network_cannot_reach_is_refused(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    lines: list[str] = []
    flags = ("--listen", "192.0.2.2:8080", "--dhcp-interface", "lo")
    mover = _pivot(
        tmp_path, plane, namespace, lines, dry_run=True, controller="host", host_args=flags
    )
    mover.run()  # a dry run says every finding, and writes nothing
    assert _said(lines, "block", f"address 192.0.2.2 is not in {NETWORK}"), lines
    assert _said(lines, "block", f"DHCP on lo: it has no address in {NETWORK}"), lines
    flags = ("--listen", "192.168.110.1:8080")  # in the network, on no interface here
    lines = []
    with pytest.raises(PivotRefused) as refused:
        _pivot(tmp_path, plane, namespace, lines, controller="host", host_args=flags).run()
    text = str(refused.value)
    assert f"address 192.168.110.1 is on no interface of this host: machines on {NETWORK}" in text
    lines = []  # 0.0.0.0: the address is this host's in the network, and it has none
    with pytest.raises(PivotRefused, match=r"this host has no address on provisioning \(192"):
        _pivot(tmp_path, plane, namespace, lines, controller="host").run()
    lines = []  # the machines run on this host: the person's word, said
    flags = ("--listen", "127.0.0.1:8080", "--url", "http://127.0.0.1:8080")
    _pivot(
        tmp_path, plane, namespace, lines, dry_run=True, controller="host", host_args=flags
    ).run()
    assert _said(lines, "note", "is a loopback address: only machines on this host"), lines
    assert not _said(lines, "block", "boot"), lines
    with plane.client() as api:
        assert api.get(f"/api/v1/namespaces/{namespace}").status_code == 404


def test_in_the_cluster_a_node_on_the_provisioning_network_is_needed(
    plane: ControlPlane, namespace: str, tmp_path: Path, nodes: list[str]
) -> None:
    _node(plane, "elsewhere", "10.20.0.5", PAUSE)
    nodes.append("elsewhere")
    _settled(plane, {"elsewhere"})
    lines: list[str] = []
    with pytest.raises(PivotRefused) as refused:
        _pivot(tmp_path, plane, namespace, lines, controller="cluster").run()
    text = f"no Node that can run the controller (elsewhere) has an InternalIP in {NETWORK}"
    assert text in str(refused.value)
    _node(plane, "on-it", "192.168.110.23", PAUSE)
    nodes.append("on-it")
    _settled(plane, {"on-it"})
    lines = []
    _pivot(tmp_path, plane, namespace, lines, dry_run=True, controller="cluster").run()
    assert _said(lines, "ok", f"on a Node in {NETWORK}: on-it"), lines
    assert not _said(lines, "block", ""), lines


def _no_nodes(plane: ControlPlane, tmp_path: Path) -> Path:
    """A kubeconfig of a user who may do everything a move does but list Nodes."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    rule = {"apiGroups": ["*"], "verbs": ["*"], "resources": ["*"]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}
    rules = [rule | {"resources": list(MOVE_USES)}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]
    role |= {"metadata": {"name": "no-nodes"}, "rules": rules}
    bind = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding"}
    bind |= {
        "metadata": {"name": "no-nodes"},
        "roleRef": {"kind": "ClusterRole", "name": "no-nodes"},
    }
    bind["roleRef"]["apiGroup"] = "rbac.authorization.k8s.io"
    bind["subjects"] = [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "no-nodes"}
    ]
    with plane.client() as api:
        for collection, body in (("clusterroles", role), ("clusterrolebindings", bind)):
            made = api.post(f"{rbac}/{collection}", json=body)
            assert made.status_code in (201, 409), made.text
    now = datetime.datetime.now(datetime.UTC)
    cred = issue_client_cert(plane.pki.ca, "no-nodes", now=now)
    path = tmp_path / "no-nodes.kubeconfig"
    path.write_text(admin_kubeconfig(plane.url, plane.pki.ca.cert_pem, cred.cert_pem, cred.key_pem))
    path.chmod(0o600)
    return path


MOVE_USES = ("customresourcedefinitions", "namespaces", "leases", "secrets", "configmaps")
MOVE_USES += ("serviceaccounts", "roles", "rolebindings", "deployments", "replicasets")
MOVE_USES += ("pods", "topologies", "servers", "events")


@pytest.mark.parametrize("mode", ["host", "auto"])
def test_the_host_reach_is_checked_when_the_nodes_cannot_be_listed(
    plane: ControlPlane, namespace: str, tmp_path: Path, mode: str
) -> None:
    kubeconfig = _no_nodes(plane, tmp_path)
    flags = ("--listen", "192.0.2.2:8080", "--dhcp-interface", "lo")
    lines: list[str] = []
    mover = _pivot(
        tmp_path, plane, namespace, lines, dry_run=True, controller=mode, host_args=flags
    )
    mover.target_end = End.kube(kubeconfig, namespace, TOPOLOGY)
    mover.run()
    said = _said(lines, "note", "the target's Nodes could not be listed")
    assert said and "403" in said[0], lines
    assert mode == "host" or "auto runs the controller on this host" in said[0]
    unpinned = _said(lines, "warn", "the controller's Deployment is not pinned to any Node")
    assert unpinned and "the target's Nodes cannot be listed" in unpinned[0], lines
    assert _said(lines, "block", f"address 192.0.2.2 is not in {NETWORK}"), lines
    assert _said(lines, "block", f"DHCP on lo: it has no address in {NETWORK}"), lines


def test_the_deployment_is_pinned_to_the_nodes_on_the_provisioning_network(
    plane: ControlPlane, namespace: str, tmp_path: Path, nodes: list[str]
) -> None:
    _node(plane, "pin-runs", "192.168.110.31", PAUSE)
    _node(plane, "pin-no-images", "192.168.110.32", [])  # on it: the scheduler's to judge
    _node(plane, "pin-elsewhere", "10.20.0.7", PAUSE)
    nodes += ["pin-runs", "pin-no-images", "pin-elsewhere"]
    _settled(plane, set(nodes))
    on_it = ["pin-no-images", "pin-runs"]
    lines: list[str] = []
    _pivot(tmp_path, plane, namespace, lines, dry_run=True, controller="cluster").run()
    said = _said(lines, "note", "the controller's Deployment is pinned to the Nodes on the")
    assert said and f"provisioning network ({', '.join(on_it)}), on their network" in said[0]
    assert said[0].endswith("no DHCP (no --dhcp-interface)"), said
    lines = []
    dhcp = ("--dhcp-interface", "eno2")  # DHCP in the pod, on that interface of its Node
    _pivot(tmp_path, plane, namespace, lines, controller="none", host_args=dhcp).run()
    assert _said(lines, "note", "(hostNetwork), DHCP on their eno2 (--dhcp-interface)"), lines
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{manifests.NAME}"
    with plane.client() as api:
        got = api.get(path)
    assert got.status_code == 200, got.text
    deployment = got.json()
    pod = deployment["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    field = {"key": "metadata.name", "operator": "In"}  # one Node a term, the terms ORed
    want = [{"matchFields": [field | {"values": [name]}]} for name in on_it]
    assert terms["nodeSelectorTerms"] == want
    assert (pod["hostNetwork"], pod["dnsPolicy"]) == (True, "ClusterFirstWithHostNet")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 0  # paused all the same
    ports = {p["name"]: p.get("hostPort") for p in pod["containers"][0]["ports"]}
    assert ports == {"boot": 8080, "health": 8081}  # the API server's: on the Node's network
    container = pod["containers"][0]
    assert {"name": "STRATA_DHCP_INTERFACE", "value": "eno2"} in container["env"]
    security = container["securityContext"]
    assert security["capabilities"]["add"] == ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"]
    assert security["allowPrivilegeEscalation"] is True  # dnsmasq's file capabilities


def test_a_rerun_keeps_the_dhcp_interface_the_move_began_with(
    plane: ControlPlane, namespace: str, tmp_path: Path, nodes: list[str]
) -> None:
    _node(plane, "dh-runs", "192.168.110.41", PAUSE)
    nodes.append("dh-runs")
    _settled(plane, {"dh-runs"})
    state, file = tmp_path / "strata.db", tmp_path / "topology.yaml"
    provisioned_state(state, 2).close()
    shutil.copy(LAB, file)
    args = (*to_cluster(state, plane, namespace), "-f", str(file), "--leave-credentials")
    killed = run_pivot(*args, "--dhcp-interface", "eno2", failpoint="after:install")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    again = run_pivot(*args, "--dhcp-interface", "eno3")
    said = again.stdout + again.stderr
    assert again.returncode == 0, said
    assert "--dhcp-interface eno3: the move began with eno2, which its Deployment keeps" in said
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{manifests.NAME}"
    with plane.client() as api:
        assert manifests.dhcp_of(api.get(path).json()) == "eno2"
