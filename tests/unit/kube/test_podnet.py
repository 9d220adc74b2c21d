"""Strata's pod network (strata.kube.podnet): every node's pod subnet lies inside podCIDR,
no two overlap, and adding or removing nodes renumbers no other; what cannot be built
is named; routes go only to nodes on a shared network; the network list is one the
reference CNI plugins (Debian's containernetworking-plugins, /usr/lib/cni) accept, its
IPAM section run through the real host-local plugin; and kubeadm's controller manager
leaves Node CIDRs to Strata."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
from ipaddress import ip_interface, ip_network
from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.kube import kubeadm_config
from strata.kube.podnet import (
    CNI_VERSION,
    CONFLIST_PATH,
    Member,
    PodNetworkError,
    conflist,
    pod_network,
    pod_network_problems,
    pod_subnets,
    unrouted,
)
from tests.unit.kube.examples import MATERIAL, layer, node, plan

CNI_BIN = Path("/usr/lib/cni")
VIP = "10.1.0.10"


def members(hosts: list[int], network: str = "10.1.0.0/22") -> list[Member]:
    base = ip_network(network)
    return [
        Member(f"n{h}", (ip_interface(f"{base.network_address + h}/{base.prefixlen}"),))
        for h in hosts
    ]


def test_subnets_are_disjoint_inside_the_pod_cidr_and_stable() -> None:
    rng = random.Random(7)
    hosts = rng.sample(range(1, 1023), 300)
    pool = ip_network("10.240.0.0/14")  # 1024 node subnets: a /22 of hosts fits
    subnets = pod_subnets(str(pool), members(hosts), VIP)
    assert len(subnets) == 300
    assert all(s.subnet_of(pool) and s.prefixlen == 24 for s in subnets.values())
    assert len(set(subnets.values())) == 300  # distinct /24s of one pool: disjoint
    for _ in range(5):  # add some, remove some: the others keep theirs
        kept = rng.sample(hosts, 200)
        added = rng.sample(sorted(set(range(1, 1023)) - set(hosts)), 50)
        again = pod_subnets(str(pool), members(kept + added), VIP)
        assert {n: again[n] for n in (f"n{h}" for h in kept)} == {
            f"n{h}": subnets[f"n{h}"] for h in kept
        }


def test_a_nodes_subnet_reads_as_its_address() -> None:
    subnets = pod_subnets("10.244.0.0/16", members([11, 12], "192.168.110.0/24"), VIP)
    assert {n: str(s) for n, s in subnets.items()} == {
        "n11": "10.244.11.0/24",
        "n12": "10.244.12.0/24",
    }


def test_ipv6_nodes_get_a_64_each() -> None:
    nodes = [
        Member("a", (ip_interface("fd00::11/64"),)),
        Member("b", (ip_interface("fd00::12/64"),)),
    ]
    subnets = pod_subnets("fd10::/48", nodes, "fd00::10")
    assert {n: str(s) for n, s in subnets.items()} == {
        "a": "fd10:0:0:11::/64",
        "b": "fd10:0:0:12::/64",
    }
    assert json.loads(conflist(subnets["a"]).contents)["plugins"][0]["ipam"]["routes"] == [
        {"dst": "::/0"}
    ]


@pytest.mark.parametrize(
    ("pod_cidr", "hosts", "message"),
    [
        ("10.244.0.0/25", [1], "smaller than one node's pod subnet (/24)"),
        ("10.244.0.0/23", [1, 2, 3], "holds 2 node subnets of /24, but the layer has 3 nodes"),
        ("10.244.0.0/22", [1, 2, 5], "n1 (10.1.0.1) and n5 (10.1.0.5) would both get"),
    ],
)
def test_what_cannot_be_built_is_named(pod_cidr: str, hosts: list[int], message: str) -> None:
    problems = pod_network_problems(pod_cidr, members(hosts), VIP)
    assert len(problems) == 1 and message in problems[0].message
    assert "podNetwork: none" in problems[0].hint
    with pytest.raises(PodNetworkError, match="podCIDR"):
        pod_subnets(pod_cidr, members(hosts), VIP)


def test_the_too_small_hint_names_a_prefix_that_fits() -> None:
    (problem,) = pod_network_problems("10.244.0.0/23", members([1, 2, 3, 4, 5]), VIP)
    assert "widen podCIDR to /21" in problem.hint  # 8 subnets for 5 nodes
    assert pod_network_problems("10.244.0.0/21", members([1, 2, 3, 4, 5]), VIP) == []


def test_a_node_without_a_static_address_gets_no_subnet() -> None:
    dhcp = Member("d", (None,))
    six = Member("six", (ip_interface("fd00::5/64"),))
    found = [*members([11]), dhcp, six]
    assert unrouted("10.244.0.0/16", found, VIP) == ["d", "six"]
    assert set(pod_subnets("10.244.0.0/16", found, VIP)) == {"n11"}


def test_the_vip_network_chooses_the_pod_address() -> None:
    storage = ip_interface("10.9.0.200/24")
    on_vip = ip_interface("10.1.0.11/22")
    subnets = pod_subnets("10.244.0.0/16", [Member("a", (storage, on_vip))], VIP)
    assert str(subnets["a"]) == "10.244.11.0/24"


def test_routes_go_to_every_other_node_on_a_shared_network() -> None:
    lab = plan("lab")
    cluster = layer("lab", "mgmt")
    network = pod_network(cluster, lab.nodes, node("lab", "lab-cp-0"))
    assert network is not None and network.subnet == "10.244.11.0/24"
    assert [(r.destination, r.gateway, r.interface) for r in network.routes] == [
        ("10.244.12.0/24", "192.168.110.12", 0),
        ("10.244.13.0/24", "192.168.110.13", 0),
    ]
    # a worker moved to another network is no one's neighbour: no route either way
    far = dataclasses.replace(node("lab", "lab-worker-1"), interfaces=(_nic("10.7.0.13/24"),))
    nodes = [n if n.name != far.name else far for n in lab.nodes]
    near = pod_network(cluster, nodes, node("lab", "lab-cp-0"))
    assert near is not None and [r.gateway for r in near.routes] == ["192.168.110.12"]
    alone = pod_network(cluster, nodes, far)
    assert alone is not None and alone.routes == () and alone.subnet == "10.244.13.0/24"


def test_a_re_plan_adds_routes_and_changes_nothing_else() -> None:
    """A fourth node: the others' subnets and network lists stay, one route is added."""
    lab, cluster = plan("lab"), layer("lab", "mgmt")
    extra = dataclasses.replace(
        node("lab", "lab-worker-1"), name="lab-worker-2", interfaces=(_nic("192.168.110.14/24"),)
    )
    grown = dataclasses.replace(cluster, workers=(*cluster.workers, extra.name))
    for member in lab.nodes:
        before = pod_network(cluster, lab.nodes, member)
        after = pod_network(grown, [*lab.nodes, extra], member)
        assert before is not None and after is not None
        assert after.conflist == before.conflist
        assert after.routes[:-1] == before.routes
        assert after.routes[-1].destination == "10.244.14.0/24"


def test_the_conflist_is_the_contract_the_lab_reads() -> None:
    document = conflist(ip_network("10.244.11.0/24"))
    assert (document.path, document.mode) == ("/etc/cni/net.d/10-strata.conflist", 0o644)
    assert document.path == CONFLIST_PATH
    parsed = json.loads(document.contents)
    assert parsed["cniVersion"] == CNI_VERSION and parsed["name"] == "strata"
    bridge, portmap = parsed["plugins"]
    assert bridge["type"] == "bridge" and bridge["isGateway"] and bridge["ipMasq"]
    assert bridge["ipam"]["type"] == "host-local"
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


needs_plugins = pytest.mark.skipif(
    not (CNI_BIN / "host-local").exists(), reason="containernetworking-plugins not installed"
)


@needs_plugins
def test_every_plugin_of_the_list_exists_and_reads_its_cni_version() -> None:
    parsed = json.loads(conflist(ip_network("10.244.11.0/24")).contents)
    types = [p["type"] for p in parsed["plugins"]] + [parsed["plugins"][0]["ipam"]["type"]]
    for kind in types:
        answer = _plugin(kind, "VERSION", {}, b"")
        assert CNI_VERSION in json.loads(answer)["supportedVersions"], kind


@needs_plugins
def test_the_real_host_local_plugin_allocates_from_the_nodes_subnet(tmp_path: Path) -> None:
    """ADD as the bridge plugin hands it over (its whole configuration, with name and
    cniVersion from the list: CNI spec, "Network configuration lists"), then CHECK and
    DEL; host-local needs no root, only its data directory."""
    parsed = json.loads(conflist(ip_network("10.244.11.0/24")).contents)
    bridge = {"cniVersion": parsed["cniVersion"], "name": parsed["name"], **parsed["plugins"][0]}
    bridge["ipam"]["dataDir"] = str(tmp_path / "ipam")
    stdin = json.dumps(bridge).encode()
    env = {"CNI_CONTAINERID": "pod1", "CNI_NETNS": "/var/run/netns/pod1", "CNI_IFNAME": "eth0"}
    result = json.loads(_plugin("host-local", "ADD", env, stdin))
    assert result["cniVersion"] == CNI_VERSION
    (ip,) = result["ips"]
    assert ip_interface(ip["address"]).network == ip_network("10.244.11.0/24")
    assert ip["gateway"] == "10.244.11.1"  # the bridge's address: isGateway
    assert result["routes"] == [{"dst": "0.0.0.0/0"}]
    _plugin("host-local", "CHECK", env, stdin)
    _plugin("host-local", "DEL", env, stdin)
    assert not (tmp_path / "ipam" / "strata" / ip["address"].split("/")[0]).exists()


def _plugin(kind: str, command: str, env: dict[str, str], stdin: bytes) -> str:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "CNI_COMMAND": command,
        "CNI_PATH": str(CNI_BIN),
        **env,
    }
    done = subprocess.run(
        [str(CNI_BIN / kind)], input=stdin, env=environment, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return done.stdout.decode()


@pytest.mark.parametrize(("version", "api"), [("1.30.6", "v1beta3"), ("1.31.2", "v1beta4")])
def test_kubeadm_leaves_node_cidrs_to_strata(version: str, api: str) -> None:
    """allocate-node-cidrs=false with Strata's pod network (podSubnet kept for
    kube-proxy's clusterCIDR); kubeadm's own allocation with podNetwork: none."""
    cluster = layer("lab", "mgmt", version)
    init = node("lab", "lab-cp-0")
    args = _controller_manager(kubeadm_config(cluster, init, MATERIAL, topology="lab").contents)
    expected: Any = (
        {"allocate-node-cidrs": "false"}
        if api == "v1beta3"
        else [{"name": "allocate-node-cidrs", "value": "false"}]
    )
    assert args == expected
    none = dataclasses.replace(cluster, pod_network="none")
    assert (
        _controller_manager(kubeadm_config(none, init, MATERIAL, topology="lab").contents) is None
    )


def _controller_manager(text: str) -> Any:
    cluster_config = list(yaml.safe_load_all(text))[1]
    assert cluster_config["networking"]["podSubnet"] == "10.244.0.0/16"
    return cluster_config.get("controllerManager", {}).get("extraArgs")


def _nic(address: str) -> Any:
    return dataclasses.replace(node("lab", "lab-worker-1").interfaces[0], address=address)
