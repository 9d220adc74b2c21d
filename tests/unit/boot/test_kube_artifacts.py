"""The Kubernetes pieces in the mirror: `strata artifacts import --os kubernetes|k3s` checks
each file against what its project publishes and files it under the release's tag; the
Ignition builder reads the sums back; the preflight names what a layer's nodes would miss."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.boot import AssetIndex
from strata.boot.assets import ArtifactImportError
from strata.boot.kube_artifacts import import_kube_artifacts, mirror_ref
from strata.boot.preflight import missing_artifacts
from strata.cli.app import cli
from strata.ignition.kube import kube_fragment
from strata.kube import kubeadm_config
from strata.plan import build_plan
from strata.topology import load
from tests.unit.kube.examples import MATERIAL

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
SYSEXT = "kubernetes-v1.31.2-x86-64.raw"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kubernetes_download(tmp_path: Path) -> Path:
    """As dl.k8s.io and the sysext bakery publish them: NAME.sha256 sidecars holding a
    bare digest, and a SHA256SUMS beside the image."""
    src = tmp_path / "k8s"
    src.mkdir()
    for name in ("kubeadm", "kubelet", "kubectl"):
        (src / name).write_bytes(name.encode() * 50)
        (src / f"{name}.sha256").write_text(sha256(name.encode() * 50))
    (src / SYSEXT).write_bytes(b"sysext" * 50)
    (src / "SHA256SUMS").write_text(f"{sha256(b'sysext' * 50)}  {SYSEXT}\n")
    return src


def test_the_import_command_files_a_release_under_its_tag(tmp_path: Path) -> None:
    src, mirror = kubernetes_download(tmp_path), tmp_path / "mirror"
    args = ["artifacts", "import", str(src), "--os", "kubernetes", "--version", "1.31.2"]
    result = CliRunner().invoke(cli, [*args, "--into", str(mirror)])
    assert result.exit_code == 0, result.output
    assert f"imported kubernetes/v1.31.2/{SYSEXT}" in result.output
    index = AssetIndex(mirror)
    for name in (SYSEXT, "kubeadm", "kubelet", "kubectl"):
        assert index.get("kubernetes", "v1.31.2", name) is not None
    listed = (mirror / "kubernetes" / "v1.31.2" / "SHA256SUMS").read_text()
    assert f"{sha256(b'kubeadm' * 50)}  kubeadm\n" in listed


def test_an_unsupported_version_is_refused_with_exit_2(tmp_path: Path) -> None:
    src = kubernetes_download(tmp_path)
    args = ["artifacts", "import", str(src), "--os", "kubernetes", "--version", "1.21.3"]
    result = CliRunner().invoke(cli, [*args, "--into", str(tmp_path / "mirror")])
    assert result.exit_code == 2
    assert "1.21.3 is not supported" in result.output


def test_k3s_sha256sum_amd64_txt_is_read(tmp_path: Path) -> None:
    src = tmp_path / "k3s"
    src.mkdir()
    images = "k3s-airgap-images-amd64.tar.zst"
    (src / "k3s").write_bytes(b"k3s")
    (src / images).write_bytes(b"images")
    (src / "sha256sum-amd64.txt").write_text(
        f"{sha256(b'k3s')}  k3s\n{sha256(b'images')}  {images}\n"
    )
    names = import_kube_artifacts(src, tmp_path / "mirror", "k3s", "v1.31.2+k3s1")
    assert sorted(names) == ["k3s", images]


def test_a_wrong_digest_is_refused_and_the_file_left_out(tmp_path: Path) -> None:
    src = kubernetes_download(tmp_path)
    (src / "kubeadm.sha256").write_text("0" * 64)
    with pytest.raises(ArtifactImportError, match=r"kubeadm: SHA-256 .* does not match"):
        import_kube_artifacts(src, tmp_path / "mirror", "kubernetes", "v1.31.2")
    assert AssetIndex(tmp_path / "mirror").get("kubernetes", "v1.31.2", "kubeadm") is None


def test_the_fragment_carries_the_sums_the_import_recorded(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    import_kube_artifacts(kubernetes_download(tmp_path), mirror, "kubernetes", "v1.31.2")
    plan = build_plan(load(LAB))
    cluster, node = plan.clusters[0], plan.nodes[0]
    ref = mirror_ref(mirror, "http://10.0.0.1:8080/assets/", plan.clusters)
    files = [kubeadm_config(cluster, node, MATERIAL, topology=plan.topology)]
    fragment = kube_fragment(node, cluster, plan.topology, files, ref)
    image = fragment["storage"]["files"][0]["contents"]
    assert image == {
        "source": f"http://10.0.0.1:8080/assets/kubernetes/v1.31.2/{SYSEXT}",
        "verification": {"hash": f"sha256-{sha256(b'sysext' * 50)}"},
    }


def test_preflight_names_the_kubernetes_files_a_layers_nodes_would_miss(tmp_path: Path) -> None:
    plan = build_plan(load(LAB))
    mirror = tmp_path / "mirror"
    assert missing_artifacts(plan.nodes, AssetIndex(mirror)) == missing_artifacts(
        plan.nodes, AssetIndex(mirror), ()
    )  # without the layers: the OS files only, as before
    gaps = missing_artifacts(plan.nodes, AssetIndex(mirror), plan.clusters)
    kube = [g for g in gaps if g.os_name == "kubernetes"]
    assert [(g.version, g.files, g.nodes) for g in kube] == [
        ("v1.31.2", (SYSEXT,), ("lab-cp-0", "lab-worker-0", "lab-worker-1"))
    ]
    said = kube[0].describe(LAB)
    assert "--os kubernetes --version v1.31.2" in said
    import_kube_artifacts(kubernetes_download(tmp_path), mirror, "kubernetes", "v1.31.2")
    after = missing_artifacts(plan.nodes, AssetIndex(mirror), plan.clusters)
    assert [g for g in after if g.os_name == "kubernetes"] == []
    assert json.dumps([g.os_name for g in after]) == json.dumps(["flatcar"])


def test_a_file_copied_in_by_hand_without_its_sum_is_missing_to_the_preflight(
    tmp_path: Path,
) -> None:
    """The node's config needs the file's SHA-256 from the release's SHA256SUMS: a file
    put there by hand (no import) would pass a check for the file alone, then fail every
    node's config at the boot service."""
    plan = build_plan(load(LAB))
    release = tmp_path / "mirror" / "kubernetes" / "v1.31.2"
    release.mkdir(parents=True)
    (release / SYSEXT).write_bytes(b"sysext" * 50)
    gaps = missing_artifacts(plan.nodes, AssetIndex(tmp_path / "mirror"), plan.clusters)
    assert [g.files for g in gaps if g.os_name == "kubernetes"] == [(SYSEXT,)]
    (release / "SHA256SUMS").write_text(f"{sha256(b'sysext' * 50)}  {SYSEXT}\n")
    after = missing_artifacts(plan.nodes, AssetIndex(tmp_path / "mirror"), plan.clusters)
    assert [g for g in after if g.os_name == "kubernetes"] == []
