"""The Kubernetes fragment (strata.ignition.kube): for every OS x role x distribution x
kubeadm config API, merged into the node's full config, it passes the official schema of
its spec and Ignition's own checks; every download comes from the mirror with its
SHA-256; no secret is world-readable; kubeadm runs once; and the lab's init node on
Flatcar (and on FCOS), its pod network included, is pinned by a golden file.
Regenerate with STRATA_UPDATE_GOLDEN=1 pytest tests/unit/ignition/test_kube_ignition.py."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from strata.ignition import PROFILES, BuildError, final_config, semantic_errors
from strata.ignition.kube import MirrorRef, kube_fragment, pki_files
from strata.ignition.kube_artifacts import kube_artifacts
from strata.ignition.kube_units import KUBEADM_SENTINEL
from strata.ignition.spec import schema
from strata.kube import ConfigFile, k3s_config, kube_vip_manifest, kubeadm_config
from strata.kube.pki import CertAndKey, ClusterPKI, ServiceAccountKeys, generate_pki
from strata.kube.podnet import pod_network
from strata.plan import ClusterPlan, NodePlan
from tests.unit.ignition.examples import BOOT, as_os, callbacks, errors
from tests.unit.kube.examples import MATERIAL, layer, node, plan

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("STRATA_UPDATE_GOLDEN") == "1"
MIRROR_URL = f"{BOOT}/assets"

# (role, node) per distribution: midsize's prod (kubeadm) and batch (k3s) layers
ROLES = {
    ("kubeadm", "prod"): {
        "init": "euw-a-r01-prod-cp",
        "join-control-plane": "euw-b-r01-prod-cp",
        "worker": "euw-a-r01-w01",
    },
    ("k3s", "batch"): {
        "init": "use-a-r01-batch-cp",
        "join-control-plane": "use-b-r01-batch-cp",
        "worker": "use-a-r01-w01",
    },
}
# a supported version at each kubeadm config API (v1beta3: 1.22-1.30; v1beta4: 1.31 on)
VERSIONS = {"kubeadm": ("1.30.6", "1.31.2"), "k3s": ("1.30.6+k3s1", "1.31.2+k3s1")}
CASES = [
    (os_name, distribution, name, role, version)
    for os_name in sorted(PROFILES)
    for (distribution, name), roles in ROLES.items()
    for role in roles
    for version in VERSIONS[distribution]
]


@cache
def layer_pki() -> ClusterPKI:
    return generate_pki(datetime.datetime.now(datetime.UTC))


def digest(path: str) -> str:
    """A stand-in file's SHA-256: any 64 hex digits do for the config."""
    return hashlib.sha256(path.encode()).hexdigest()


def mirror_for(cluster: ClusterPlan) -> MirrorRef:
    paths = {
        a.mirror_path
        for os_name in PROFILES
        for a in kube_artifacts(os_name, cluster.distribution, cluster.version)
    }
    return MirrorRef(MIRROR_URL, {p: digest(p) for p in paths})


def kube_files(
    cluster: ClusterPlan, member: NodePlan, topology: str, pki: ClusterPKI | None = None
) -> list[ConfigFile]:
    """What strata.kube gives the node: its config, kube-vip on control-plane nodes, and
    the layer's CAs on a kubeadm init node."""
    if cluster.distribution == "k3s":
        files = [k3s_config(cluster, member, MATERIAL.token, topology=topology)]
    else:
        files = [kubeadm_config(cluster, member, MATERIAL, topology=topology)]
    if member.name in cluster.control_plane:
        files.append(kube_vip_manifest(cluster, member))
    if cluster.distribution == "kubeadm" and member.name == cluster.control_plane[0]:
        files += pki_files(pki or layer_pki())
    return files


def case(
    os_name: str, distribution: str, name: str, role: str, version: str
) -> tuple[NodePlan, ClusterPlan, dict[str, Any], list[ConfigFile]]:
    """(node, layer, fragment, files) of one case, the node on ``os_name``."""
    cluster = layer("midsize", name, version)
    member = as_os(node("midsize", ROLES[(distribution, name)][role]), os_name)
    topology = plan("midsize").topology
    files = kube_files(cluster, member, topology)
    return (
        member,
        cluster,
        kube_fragment(member, cluster, topology, files, mirror_for(cluster)),
        files,
    )


def full_config(member: NodePlan, fragment: dict[str, Any]) -> dict[str, Any]:
    profile = PROFILES[member.os_name]
    return final_config(member, profile, [fragment], callbacks(member, member.os_name))


def ids(value: object) -> str:
    return str(value)


@pytest.mark.parametrize(("os_name", "distribution", "name", "role", "version"), CASES, ids=ids)
def test_every_merged_config_passes_the_schema_and_ignitions_checks(
    os_name: str, distribution: str, name: str, role: str, version: str
) -> None:
    member, _, fragment, _ = case(os_name, distribution, name, role, version)
    config = full_config(member, fragment)
    spec = config["ignition"]["version"]
    assert fragment["ignition"]["version"] == spec  # the spec the node's release reads
    vendored = jsonschema.Draft4Validator(schema(spec))  # src/strata/ignition/schemas
    assert [e.message for e in vendored.iter_errors(config)] == []
    assert errors(config, spec) == []  # shared/schemas/ignition (skipped where absent)
    assert semantic_errors(config) == []


@pytest.mark.parametrize(("os_name", "distribution", "name", "role", "version"), CASES, ids=ids)
def test_every_download_comes_from_the_mirror_with_its_sha256(
    os_name: str, distribution: str, name: str, role: str, version: str
) -> None:
    _, cluster, fragment, _ = case(os_name, distribution, name, role, version)
    downloads = [f for f in fragment["storage"]["files"] if not _inline(f)]
    assert downloads  # the node installs something
    for entry in downloads:
        source = entry["contents"]["source"]
        assert source.startswith(f"{MIRROR_URL}/{_directory(cluster)}/"), source
        path = source.removeprefix(f"{MIRROR_URL}/")
        assert entry["contents"]["verification"] == {"hash": f"sha256-{digest(path)}"}
    every_source = [f["contents"]["source"] for f in fragment["storage"]["files"]]
    assert all(s.startswith((MIRROR_URL, "data:")) for s in every_source)


@pytest.mark.parametrize(("os_name", "distribution", "name", "role", "version"), CASES, ids=ids)
def test_no_secret_is_world_readable(
    os_name: str, distribution: str, name: str, role: str, version: str
) -> None:
    """The kubeadm/k3s config (token, certificate key) and every private key: 0600; the
    modes strata.kube chose are kept; nothing is writable by others."""
    _, _, fragment, files = case(os_name, distribution, name, role, version)
    written = {f["path"]: f["mode"] for f in fragment["storage"]["files"]}
    for given in files:
        assert written[given.path] == given.mode
    secret = re.compile(r"(\.key|/kubeadm\.yaml|/k3s/config\.yaml)$")
    secrets = [p for p in written if secret.search(p)]
    assert secrets  # the config at least
    assert {p: oct(written[p]) for p in secrets if written[p] & 0o077} == {}
    assert {p: oct(m) for p, m in written.items() if m & 0o022} == {}


@pytest.mark.parametrize(
    ("os_name", "version"), [(o, v) for o in PROFILES for v in VERSIONS["kubeadm"]]
)
@pytest.mark.parametrize("role", ["init", "join-control-plane", "worker"])
def test_kubeadm_runs_once(os_name: str, version: str, role: str) -> None:
    """strata-kubeadm.service: skipped while the sentinel exists, a oneshot whose last
    step touches it after kubeadm succeeded, and nothing else makes it."""
    _, _, fragment, _ = case(os_name, "kubeadm", "prod", role, version)
    units = {u["name"]: u for u in fragment["systemd"]["units"]}
    unit = units["strata-kubeadm.service"]
    lines = unit["contents"].splitlines()
    assert unit["enabled"] is True
    assert f"ConditionPathExists=!{KUBEADM_SENTINEL}" in lines
    assert "Type=oneshot" in lines
    steps = [line.removeprefix("ExecStart=") for line in lines if line.startswith("ExecStart=")]
    command = (
        "init --config /etc/strata/kubeadm.yaml --upload-certs"
        if role == "init"
        else "join --config /etc/strata/kubeadm.yaml"
    )
    assert steps[0].endswith(f"/kubeadm {command}")
    assert steps[-1] == f"/usr/bin/touch {KUBEADM_SENTINEL}"
    others = json.dumps([u for n, u in units.items() if n != "strata-kubeadm.service"])
    assert KUBEADM_SENTINEL not in others + json.dumps(fragment["storage"])
    after = next(line for line in lines if line.startswith("After="))
    assert "network-online.target" in after
    runtime = "crio.service" if os_name == "rhcos" else "containerd.service"
    assert runtime in after and f"Requires={runtime}" in lines


def test_flatcar_follows_the_sysext_recipe() -> None:
    """The image under /opt/extensions, linked as /etc/extensions/NAME.raw; systemd-sysext
    enabled; k3s's server unit linked into multi-user.target.wants."""
    for distribution, name, directory in (
        ("kubeadm", "prod", "kubernetes"),
        ("k3s", "batch", "k3s"),
    ):
        _, cluster, fragment, _ = case(
            "flatcar", distribution, name, "init", VERSIONS[distribution][1]
        )
        release = "v" + cluster.version
        image = f"/opt/extensions/{directory}/{directory}-{release}-x86-64.raw"
        links = {link["path"]: link["target"] for link in fragment["storage"]["links"]}
        assert links[f"/etc/extensions/{directory}.raw"] == image
        assert image in {f["path"] for f in fragment["storage"]["files"]}
        assert {"name": "systemd-sysext.service", "enabled": True} in fragment["systemd"]["units"]
    wants = "/etc/systemd/system/multi-user.target.wants/k3s.service"
    assert links[wants] == "/usr/local/lib/systemd/system/k3s.service"


def test_coreos_gets_programs_in_usr_local_bin_and_kubeadms_kubelet_units() -> None:
    _, _, fragment, _ = case("fcos", "kubeadm", "prod", "worker", "1.31.2")
    programs = {f["path"]: f["mode"] for f in fragment["storage"]["files"] if not _inline(f)}
    assert programs == {f"/usr/local/bin/{p}": 0o755 for p in ("kubeadm", "kubelet", "kubectl")}
    kubelet = next(u for u in fragment["systemd"]["units"] if u["name"] == "kubelet.service")
    assert "ExecStart=/usr/local/bin/kubelet\n" in kubelet["contents"]
    assert kubelet["dropins"][0]["name"] == "10-kubeadm.conf"
    _, _, agent, _ = case("rhcos", "k3s", "batch", "worker", "1.31.2+k3s1")
    unit = next(u for u in agent["systemd"]["units"] if u["name"] == "k3s-agent.service")
    assert "ExecStart=/usr/local/bin/k3s \\\n    agent\n" in unit["contents"]
    assert "Type=exec" in unit["contents"].splitlines()


def test_refusals_name_the_node_and_what_is_wrong() -> None:
    member, cluster, _, files = case("flatcar", "kubeadm", "prod", "worker", "1.31.2")
    topology = plan("midsize").topology
    with pytest.raises(
        BuildError, match=r"euw-a-r01-w01: .*kubernetes/v1\.31\.2/kubernetes-v1\.31\.2-x86-64\.raw"
    ):
        kube_fragment(member, cluster, topology, files, MirrorRef(MIRROR_URL, {}))
    with pytest.raises(
        BuildError, match=r"euw-a-r01-w01: /etc/kubernetes/pki/ca\.key.*first control-plane"
    ):
        kube_fragment(
            member, cluster, topology, [*files, *pki_files(layer_pki())], mirror_for(cluster)
        )
    stranger = dataclasses.replace(member, name="not-a-member")
    with pytest.raises(BuildError, match=r"not-a-member: .*not a member of layer prod"):
        kube_fragment(stranger, cluster, topology, files, mirror_for(cluster))
    old = dataclasses.replace(cluster, version="1.21.3")
    with pytest.raises(BuildError, match=r"1\.21\.3 is not supported"):
        kube_fragment(member, old, topology, files, mirror_for(cluster))


def test_a_release_whose_spec_cannot_check_a_sha256_is_refused() -> None:
    """FCOS 31 reads spec 3.0.0, whose verification takes SHA-512 only (ignition-validate:
    "unrecognized hash function"); 3.1.0 reads sha256-."""
    cluster = layer("midsize", "prod")
    for release, refused in (("31.20200505.3.0", True), ("32.20200601.3.0", False)):
        member = as_os(node("midsize", "euw-a-r01-w01"), "fcos", release)
        files = kube_files(cluster, member, "midsize")
        if refused:
            with pytest.raises(BuildError, match=r"reads Ignition spec 3\.0\.0, which cannot"):
                kube_fragment(member, cluster, "midsize", files, mirror_for(cluster))
        else:
            fragment = kube_fragment(member, cluster, "midsize", files, mirror_for(cluster))
            assert errors(full_config(member, fragment), "3.1.0") == []


def test_pki_files_put_the_cas_where_kubeadm_init_finds_them() -> None:
    found = {f.path: f.mode for f in pki_files(layer_pki())}
    names = ["ca", "front-proxy-ca", "etcd/ca"]
    assert found == {
        **{f"/etc/kubernetes/pki/{n}.crt": 0o644 for n in names},
        **{f"/etc/kubernetes/pki/{n}.key": 0o600 for n in names},
        "/etc/kubernetes/pki/sa.key": 0o600,
        "/etc/kubernetes/pki/sa.pub": 0o644,
    }


# Stand-in PEM text: the golden pins where each file goes and how, not random keys.
FAKE_PKI = ClusterPKI(
    ca=CertAndKey("<ca.crt>\n", "<ca.key>\n"),
    front_proxy_ca=CertAndKey("<front-proxy-ca.crt>\n", "<front-proxy-ca.key>\n"),
    etcd_ca=CertAndKey("<etcd/ca.crt>\n", "<etcd/ca.key>\n"),
    service_account=ServiceAccountKeys("<sa.pub>\n", "<sa.key>\n"),
)


@pytest.mark.parametrize("os_name", ["flatcar", "fcos"])
def test_golden_lab_init_node(os_name: str) -> None:
    cluster, member = layer("lab", "mgmt"), as_os(node("lab", "lab-cp-0"), os_name)
    files = kube_files(cluster, member, "lab", FAKE_PKI)
    network = pod_network(cluster, plan("lab").nodes, member)
    fragment = kube_fragment(
        member, cluster, "lab", files, mirror_for(cluster), pod_network=network
    )
    text = json.dumps(fragment, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{os_name}-kube-lab-cp-0.ign"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} changed; if intended: STRATA_UPDATE_GOLDEN=1"


def _inline(entry: dict[str, Any]) -> bool:
    return str(entry["contents"]["source"]).startswith("data:")


def _directory(cluster: ClusterPlan) -> str:
    return "k3s" if cluster.distribution == "k3s" else "kubernetes"
