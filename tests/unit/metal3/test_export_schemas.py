"""Every object `strata export metal3` writes for every example topology validates
against its CRD's schema (../shared/crds, the storage version), strictly: a field the
CRD does not name fails."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest

from strata.metal3.export import export_metal3
from tests.unit.metal3.conftest import EXAMPLES, PASSWORD, options, readable_example
from tests.unit.metal3.crds import problems, storage_version


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_exported_object_validates_strictly(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = readable_example(example, tmp_path, monkeypatch)
    documents = export_metal3(topology, options(topology, tmp_path, namespace="metal3")).documents
    found = [p for d in documents for p in problems(d)]
    assert found[:20] == []
    kinds = Counter(d["kind"] for d in documents)
    assert kinds["BareMetalHost"] == len(topology.nodes)
    assert kinds["Secret"] == len({n.bmc.credentials for n in topology.nodes})
    kubeadm = [layer for layer in topology.layers if layer.distribution.name == "kubeadm"]
    assert (
        kinds["Cluster"] == kinds["Metal3Cluster"] == kinds["KubeadmControlPlane"] == len(kubeadm)
    )
    for document in documents:
        if document["kind"] != "Secret":
            assert document["apiVersion"] == storage_version(document["kind"])


def test_the_exported_objects_carry_the_topology(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = next(e for e in EXAMPLES if e.parent.name == "lab")
    topology = readable_example(lab, tmp_path, monkeypatch)
    exported = export_metal3(topology, options(topology, tmp_path))
    documents = exported.documents
    assert (  # Metal3 has no second address: said, not dropped in silence
        "lab-cp-0: bmc.fallback (ipmi://192.168.100.11:623) left out: a BareMetalHost has one "
        "BMC address, its first"
    ) in exported.notes
    by_kind = {d["kind"]: d for d in documents}
    secret = by_kind["Secret"]
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    host = next(d for d in documents if d["metadata"]["name"] == "lab-cp-0")
    assert host["spec"]["bmc"] == {
        "address": "redfish://192.168.100.11/redfish/v1/Systems/lab-cp-0",
        "credentialsName": "lab-bmc",
        "disableCertificateVerification": True,
    }
    assert host["spec"]["bootMACAddress"] == "52:54:00:10:00:01"
    assert host["spec"]["bootMode"] == "legacy"
    media = next(d for d in documents if d["metadata"]["name"] == "lab-worker-1")
    assert media["spec"]["bmc"]["address"] == (  # Metal3 reads the boot interface from it
        "redfish-virtualmedia://192.168.100.13/redfish/v1/Systems/lab-worker-1"
    )
    assert host["spec"]["rootDeviceHints"] == {"deviceName": "/dev/vda"}
    assert "externallyProvisioned" not in host["spec"]
    control_plane = by_kind["KubeadmControlPlane"]["spec"]
    assert control_plane["replicas"] == 1 and control_plane["version"] == "v1.31.2"
    assert by_kind["MachineDeployment"]["spec"]["replicas"] == 2
    assert by_kind["Metal3Cluster"]["spec"]["controlPlaneEndpoint"] == {
        "host": "192.168.110.10",
        "port": 6443,
    }
    network = by_kind["Cluster"]["spec"]["clusterNetwork"]
    assert network["pods"] == {"cidrBlocks": ["10.244.0.0/16"]}
    assert network["services"] == {"cidrBlocks": ["10.96.0.0/12"]}
    template = next(d for d in documents if d["metadata"]["name"] == "mgmt-controlplane")
    selected = template["spec"]["template"]["spec"]["hostSelector"]["matchLabels"]
    assert selected.items() <= host["metadata"]["labels"].items()


def test_the_strict_schema_refuses_an_unknown_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = next(e for e in EXAMPLES if e.parent.name == "lab")
    topology = readable_example(lab, tmp_path, monkeypatch)
    documents = export_metal3(topology, options(topology, tmp_path)).documents
    host = next(d for d in documents if d["kind"] == "BareMetalHost")
    host["spec"]["bmc"]["adress"] = "redfish://x"
    assert any("adress" in p for p in problems(host))
    control_plane = next(d for d in documents if d["kind"] == "KubeadmControlPlane")
    control_plane["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["podSubnet"] = "10.0.0.0/8"
    assert any("podSubnet" in p for p in problems(control_plane))


def test_servers_strata_provisioned_are_externally_provisioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = next(e for e in EXAMPLES if e.parent.name == "lab")
    topology = readable_example(lab, tmp_path, monkeypatch)
    chosen = options(topology, tmp_path, provisioned={"lab-worker-0"})
    hosts = [d for d in export_metal3(topology, chosen).documents if d["kind"] == "BareMetalHost"]
    marked = {h["metadata"]["name"] for h in hosts if h["spec"].get("externallyProvisioned")}
    assert marked == {"lab-worker-0"}
    assert [p for h in hosts for p in problems(h)] == []
