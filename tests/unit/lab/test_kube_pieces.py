"""The lab's Kubernetes stand-in, piece by piece, on the configs Strata writes: the
files read back from an Ignition config, the kubeadm config as kubeadm reads it (both
config API versions), what `kubeadm init` writes to the API, and the kubelet's flags."""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import re
import urllib.parse
from importlib import resources
from pathlib import Path

import pytest

from strata.lab.ignition_files import IgnitionFilesError, read_files
from strata.lab.kube_daemon import HANDOFF_PORT
from strata.lab.kube_processes import LabKubeError
from strata.lab.kubeadm_config import parse_kubeadm
from strata.lab.kubeadm_init import bootstrap_objects, token_secret
from strata.lab.kubelet import NodeKubelet, kubelet_flags

GOLDEN = Path(__file__).resolve().parents[1] / "kube" / "golden"
NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def test_files_come_back_from_data_urls_plain_base64_and_gzip() -> None:
    text = "apiVersion: v1\nkind: Pod\n"
    packed = base64.b64encode(gzip.compress(text.encode())).decode()
    config = {
        "ignition": {"version": "3.4.0"},
        "storage": {
            "files": [
                {"path": "/a", "contents": {"source": "data:," + urllib.parse.quote(text)}},
                {
                    "path": "/b",
                    "contents": {"source": "data:;base64," + packed, "compression": "gzip"},
                },
                {"path": "/opt/x.raw", "contents": {"source": "http://10.0.0.1/x.raw"}},
                {"path": "/etc/cni/net.d/10-strata.conflist", "contents": {"source": "data:,{}"}},
            ]
        },
    }
    files = read_files(json.dumps(config).encode())
    assert files.text("/a") == files.text("/b") == text
    assert files.remote == {"/opt/x.raw": "http://10.0.0.1/x.raw"}
    assert files.under("/etc/cni/net.d") == {"10-strata.conflist": b"{}"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"storage": {"files": "abc"}}',
        b'{"storage": {"files": [1]}}',
        b'{"storage": {"files": [{"path": "/a", "contents": "x"}]}}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["text", "list", "files-string", "entry-number", "contents-string", "deep"],
)
def test_what_is_not_ignition_is_refused(body: bytes) -> None:
    with pytest.raises(IgnitionFilesError, match="not an Ignition config"):
        read_files(body)


@pytest.mark.parametrize("api", ["v1beta3", "v1beta4"])
def test_init_config_reads_the_same_in_both_config_apis(api: str) -> None:
    config = parse_kubeadm(golden(f"lab-init-{api}.yaml"))
    assert config.init is not None and config.join is None
    assert config.node_name == "lab-cp-0"
    assert config.endpoint() == ("192.168.110.10", 6443)
    assert config.kubelet_args()["provider-id"] == "strata://lab/lab-cp-0"
    assert "topology.kubernetes.io/zone=home-desk" in config.kubelet_args()["node-labels"]


@pytest.mark.parametrize("api", ["v1beta3", "v1beta4"])
def test_join_config_names_the_endpoint_token_and_pin(api: str) -> None:
    config = parse_kubeadm(golden(f"lab-join-worker-{api}.yaml"))
    assert config.endpoint() == ("192.168.110.10", 6443)
    discovery = config.discovery()
    assert discovery["token"] == "abcdef.0123456789abcdef"
    assert discovery["caCertHashes"] == ["sha256:" + "0a" * 32]


def test_a_file_without_a_kubeadm_document_is_refused() -> None:
    with pytest.raises(LabKubeError, match=re.escape("no kubeadm.k8s.io/ document")):
        parse_kubeadm("apiVersion: v1\nkind: ConfigMap\n")


def test_kubeadm_init_objects_are_kubeadms() -> None:
    config = parse_kubeadm(golden("lab-init-v1beta4.yaml"))
    assert config.init is not None
    objects = list(
        bootstrap_objects(config.init, config.cluster, "https://192.168.110.10:6443", "CA", NOW)
    )
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert names == [
        ("Secret", "bootstrap-token-abcdef"),
        ("ClusterRoleBinding", "kubeadm:kubelet-bootstrap"),
        ("ClusterRoleBinding", "kubeadm:node-autoapprove-bootstrap"),
        ("ClusterRoleBinding", "kubeadm:node-autoapprove-certificate-rotation"),
        ("ConfigMap", "cluster-info"),
        ("Role", "kubeadm:bootstrap-signer-clusterinfo"),
        ("RoleBinding", "kubeadm:bootstrap-signer-clusterinfo"),
        ("ConfigMap", "kubeadm-config"),
    ]
    secret = objects[0]
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    data = secret["stringData"]
    assert data["expiration"] == "2026-11-30T14:00:00Z"  # the config's ttl 2h0m0s from now
    assert data["usage-bootstrap-signing"] == data["usage-bootstrap-authentication"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token"
    assert objects[1]["subjects"][0]["name"] == data["auth-extra-groups"]


def test_a_zero_ttl_never_expires_as_in_kubeadm() -> None:
    secret = token_secret({"token": "abcdef.0123456789abcdef", "ttl": "0s"}, NOW)
    assert "expiration" not in secret["stringData"]


@pytest.mark.parametrize("ttl", ["2 hours", "h", "-1h"])
def test_a_ttl_that_is_not_a_go_duration_is_refused(ttl: str) -> None:
    with pytest.raises(LabKubeError, match="is not a duration"):
        token_secret({"token": "abcdef.0123456789abcdef", "ttl": ttl}, NOW)


def test_kubelet_flags_are_kubeadms_with_the_nodes_extra_args(tmp_path: Path) -> None:
    config = parse_kubeadm(golden("lab-join-worker-v1beta4.yaml"))
    flags = kubelet_flags(config, tmp_path, tmp_path / "run", "198.18.0.2", bootstrap=True)
    assert flags["hostname-override"] == "lab-worker-0"
    assert flags["provider-id"] == "strata://lab/lab-worker-0"
    assert flags["bootstrap-kubeconfig"] == str(tmp_path / "bootstrap-kubelet.conf")
    assert flags["node-ip"] == "198.18.0.2"


def test_the_stand_in_os_hands_over_where_the_daemon_listens() -> None:
    init = resources.files("strata.lab").joinpath("init.sh").read_text()
    ports = set(re.findall(r"http://\$router:(\d+)/v1/ignition", init))
    assert ports == {str(HANDOFF_PORT)}


def test_a_live_configs_install_config_is_read_too_and_wins() -> None:
    """The config a live system installs is a file of the live config: its files are
    the installed machine's."""
    installed = {
        "ignition": {"version": "3.4.0"},
        "storage": {
            "files": [
                {"path": "/etc/hostname", "contents": {"source": "data:,lab-cp-0%0A"}},
                {"path": "/etc/strata/kubeadm.yaml", "contents": {"source": "data:,kind"}},
            ]
        },
    }
    packed = base64.b64encode(json.dumps(installed).encode()).decode()
    live = {
        "ignition": {"version": "3.4.0"},
        "storage": {
            "files": [
                {"path": "/etc/hostname", "contents": {"source": "data:,live%0A"}},
                {"path": "/var/lib/install.ign", "contents": {"source": "data:;base64," + packed}},
            ]
        },
    }
    files = read_files(json.dumps(live).encode())
    assert files.text("/etc/hostname") == "lab-cp-0\n"
    assert files.text("/etc/strata/kubeadm.yaml") == "kind"


def test_a_gzip_bomb_is_refused_not_unpacked() -> None:
    bomb = base64.b64encode(gzip.compress(b"\0" * (64 * 1024 * 1024))).decode()
    source = "data:;base64," + bomb
    config = {
        "storage": {
            "files": [{"path": "/x", "contents": {"source": source, "compression": "gzip"}}]
        }
    }
    with pytest.raises(IgnitionFilesError, match="/x: larger than"):
        read_files(json.dumps(config).encode())


def test_a_cni_file_name_that_leaves_its_directory_is_refused(tmp_path: Path) -> None:
    """A machine's config names its files: none may land outside the lab's directory."""
    config = parse_kubeadm(golden("lab-join-worker-v1beta4.yaml"))
    escape = "../../../escaped"
    kubelet = NodeKubelet(
        config, tmp_path / "node", tmp_path / "run", "198.18.0.9", {escape: b"owned"}
    )
    with pytest.raises(LabKubeError, match="is not a CNI configuration file name"):
        kubelet.start("CA", "kubeconfig", True, lambda: None)
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    assert kubelet.processes == ()
