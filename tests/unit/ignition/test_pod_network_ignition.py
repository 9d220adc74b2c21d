"""Strata's pod network in a node's Ignition (strata.ignition.pod_network): on Flatcar,
FCOS and RHCOS, every node of the lab's kubeadm layer gets the CNI network list at
/etc/cni/net.d/10-strata.conflist, the bridge's kernel settings, and its routes where
its OS keeps routes (a networkd drop-in; the NetworkManager keyfile written again with
``routeN=``); the merged config passes the official schema, Strata's semantic checks
and, where installed, Ignition's own ignition-validate."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import urllib.parse
from base64 import b64decode
from pathlib import Path
from typing import Any

import pytest

from strata.ignition import PROFILES, BuildError, final_config, semantic_errors
from strata.ignition.kube import kube_fragment
from strata.ignition.pod_network import MODULES_PATH, SYSCTL_PATH, node_pod_network
from strata.kube.podnet import CONFLIST_PATH, pod_network
from strata.plan import NodePlan
from tests.unit.ignition.examples import as_os, callbacks, errors
from tests.unit.ignition.test_kube_ignition import kube_files, mirror_for
from tests.unit.kube.examples import layer, node, plan

LAB = ("lab-cp-0", "lab-worker-0", "lab-worker-1")
DROPIN = "/etc/systemd/network/10-strata-eth0.network.d/50-strata-pod-routes.conf"
KEYFILE = "/etc/NetworkManager/system-connections/eth0.nmconnection"


def merged(name: str, os_name: str, spec: str | None = None) -> tuple[NodePlan, dict[str, Any]]:
    """The node's final config with its Kubernetes fragment, pod network included."""
    cluster, member = layer("lab", "mgmt"), as_os(node("lab", name), os_name)
    network = node_pod_network(cluster, plan("lab").nodes, member)
    fragment = kube_fragment(
        member, cluster, "lab", kube_files(cluster, member, "lab"), mirror_for(cluster),
        pod_network=network,
    )  # fmt: skip
    profile = PROFILES[os_name]
    if spec is not None:
        profile = dataclasses.replace(profile, ignition_version=spec)
    return member, final_config(member, profile, [fragment], callbacks(member, os_name))


def inline(config: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """path -> (text, mode) of every data: file."""
    out = {}
    for entry in config["storage"]["files"]:
        source = entry["contents"]["source"]
        if source.startswith("data:"):
            header, _, data = source.partition(",")
            raw = (
                b64decode(data).decode()
                if header.endswith("base64")
                else urllib.parse.unquote(data)
            )
            out[entry["path"]] = (raw, entry["mode"])
    return out


@pytest.mark.parametrize("os_name", sorted(PROFILES))
@pytest.mark.parametrize("name", LAB)
def test_every_node_config_passes_the_schema_and_ignitions_checks(os_name: str, name: str) -> None:
    _, config = merged(name, os_name)
    assert errors(config, config["ignition"]["version"]) == []
    assert semantic_errors(config) == []
    files = inline(config)
    assert files[CONFLIST_PATH][1] == 0o644
    assert json.loads(files[CONFLIST_PATH][0])["plugins"][0]["type"] == "bridge"
    assert files[MODULES_PATH][0] == "br_netfilter\n"
    assert "net.ipv4.ip_forward = 1" in files[SYSCTL_PATH][0]


def test_flatcar_routes_are_a_networkd_drop_in() -> None:
    _, config = merged("lab-worker-0", "flatcar")
    files = inline(config)
    assert files[DROPIN] == (
        "# Strata's pod network: the other nodes' pod subnets via their addresses\n\n"
        "[Route]\nDestination=10.244.11.0/24\nGateway=192.168.110.11\n\n"
        "[Route]\nDestination=10.244.13.0/24\nGateway=192.168.110.13\n",
        0o644,
    )
    unit = files["/etc/systemd/network/10-strata-eth0.network"][0]
    assert "Address=192.168.110.12/24" in unit  # the interface's own unit, unchanged


@pytest.mark.parametrize("os_name", ["fcos", "rhcos"])
def test_coreos_routes_are_in_the_interfaces_keyfile(os_name: str) -> None:
    _, config = merged("lab-worker-0", os_name)
    paths = [f["path"] for f in config["storage"]["files"]]
    assert paths.count(KEYFILE) == 1  # merged over the node's own, not beside it
    text, mode = inline(config)[KEYFILE]
    assert mode == 0o600
    ipv4 = text.split("[ipv4]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert ipv4 == [
        "method=manual",
        "address1=192.168.110.12/24,192.168.110.1",
        "dns=192.168.110.1;",
        "route1=10.244.11.0/24,192.168.110.11",
        "route2=10.244.13.0/24,192.168.110.13",
    ]


def test_a_layer_with_podnetwork_none_gets_none() -> None:
    cluster = dataclasses.replace(layer("lab", "mgmt"), pod_network="none")
    assert node_pod_network(cluster, plan("lab").nodes, node("lab", "lab-cp-0")) is None


def test_a_k3s_layer_refuses_a_pod_network() -> None:
    cluster = layer("midsize", "batch")
    member = node("midsize", "use-a-r01-w01")
    lab = pod_network(layer("lab", "mgmt"), plan("lab").nodes, node("lab", "lab-cp-0"))
    with pytest.raises(BuildError, match=r"use-a-r01-w01: .*k3s's own pod network"):
        kube_fragment(
            member, cluster, "midsize", kube_files(cluster, member, "midsize"),
            mirror_for(cluster), pod_network=lab,
        )  # fmt: skip


@pytest.mark.skipif(shutil.which("ignition-validate") is None, reason="no ignition-validate")
@pytest.mark.parametrize("os_name", sorted(PROFILES))
def test_ignition_validate_accepts_them(os_name: str, tmp_path: Path) -> None:
    """Debian's ignition-validate reads specs up to 3.3.0: each config is written at
    3.3.0 (every key used exists from 3.0.0); any output, a warning too, is a failure."""
    problems = []
    for name in LAB:
        _, config = merged(name, os_name, spec="3.3.0")
        path = tmp_path / f"{name}.ign"
        path.write_text(json.dumps(config))
        done = subprocess.run(
            ["ignition-validate", str(path)], capture_output=True, text=True, timeout=60
        )
        if done.returncode or done.stdout or done.stderr:
            problems.append(f"{name}: {done.returncode} {done.stdout}{done.stderr}")
    assert problems == []
