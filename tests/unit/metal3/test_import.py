"""`strata import metal3`: BareMetalHosts in, a topology.yaml out that validates, that
holds no password, and that exports back to the same hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from strata.cli.app import cli
from strata.metal3.export import ExportOptions, export_metal3
from strata.metal3.importer import import_hosts
from strata.metal3.output import dump_documents
from strata.metal3.reading import ImportError_
from strata.plan import build_plan
from strata.topology import Topology, check_text
from tests.unit.metal3.conftest import EXAMPLES, options, readable_example

SECRET_PASSWORD = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"  # base64 of a password never to be seen
HOSTS = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: dell-bmc}}
type: Opaque
data: {{username: cm9vdA==, password: {SECRET_PASSWORD}}}
---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: rf-0
  labels: {{strata.dev/rack: r1, strata.dev/role: control-plane, strata.dev/layer: mgmt}}
spec:
  online: true
  bootMACAddress: "52:54:00:00:00:01"
  bootMode: UEFI
  bmc: {{address: "redfish://10.0.0.1/redfish/v1/Systems/1", credentialsName: dell-bmc}}
  rootDeviceHints: {{deviceName: /dev/sda}}
---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: vm-0
  labels: {{strata.dev/rack: r1, strata.dev/layer: mgmt}}
spec:
  online: true
  bootMACAddress: "52:54:00:00:00:02"
  bootMode: UEFI
  bmc:
    address: "redfish-virtualmedia+https://10.0.0.2:8443/redfish/v1/Systems/2"
    credentialsName: dell-bmc
    disableCertificateVerification: true
  rootDeviceHints: {{model: "SAMSUNG MZ7L3480", minSizeGigabytes: 400}}
---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: idrac-0
  labels: {{strata.dev/rack: r2, strata.dev/layer: mgmt}}
spec:
  online: true
  bootMACAddress: "52:54:00:00:00:03"
  bootMode: legacy
  bmc: {{address: "idrac-redfish://10.0.0.3/redfish/v1/Systems/System.Embedded.1", credentialsName: dell-bmc}}
  rootDeviceHints: {{hctl: "0:0:0:0", rotational: false}}
---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: ilo-0
  labels: {{strata.dev/rack: r2, strata.dev/layer: mgmt}}
spec:
  online: true
  bootMACAddress: "52:54:00:00:00:04"
  bootMode: UEFI
  bmc: {{address: "ilo5-redfish://10.0.0.4/redfish/v1/Systems/1", credentialsName: hpe-bmc}}
  rootDeviceHints: {{serialNumber: "S3YJNX0K", wwn: "0x5002538e40a1b2c3", vendor: ATA}}
---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: ipmi-0
  labels: {{strata.dev/rack: r2, strata.dev/layer: mgmt}}
spec:
  online: true
  bootMACAddress: "52:54:00:00:00:05"
  bootMode: UEFI
  bmc: {{address: "ipmi://10.0.0.5:623?privilegelevel=OPERATOR", credentialsName: ipmi-bmc}}
"""
SHARED_FIELDS = ("bootMACAddress", "bootMode", "rootDeviceHints", "online")


def _imported(monkeypatch: pytest.MonkeyPatch, text: str = HOSTS) -> tuple[str, Topology]:
    imported = import_hosts([("hosts.yaml", text)], name="dc")
    checked = check_text(imported.text, "topology.yaml")
    assert [d.render() for d in checked.errors] == []
    assert checked.topology is not None
    for name in ("DELL_BMC_PASSWORD", "HPE_BMC_PASSWORD", "IPMI_BMC_PASSWORD"):
        monkeypatch.setenv(name, "x")
    return imported.text, checked.topology


def _hosts(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "BareMetalHost"}


def test_import_then_export_gives_the_same_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    text, topology = _imported(monkeypatch)
    assert "password: {env: DELL_BMC_PASSWORD}" in text
    assert SECRET_PASSWORD not in text and "super-secret" not in text
    written = _hosts(list(yaml.safe_load_all(HOSTS)))
    exported = _hosts(export_metal3(topology, ExportOptions(cluster_api=False)).documents)
    assert set(exported) == set(written)
    for name, host in written.items():
        again = exported[name]
        for key in SHARED_FIELDS:
            assert again["spec"].get(key) == host["spec"].get(key), (name, key)
        bmc, bmc_again = host["spec"]["bmc"], again["spec"]["bmc"]
        assert bmc_again["credentialsName"] == bmc["credentialsName"]
        assert bmc_again.get("disableCertificateVerification") == bmc.get(
            "disableCertificateVerification"
        )
        assert bmc_again["address"] == bmc["address"], name
        for label, value in host["metadata"]["labels"].items():
            assert again["metadata"]["labels"][label] == value
    secret = next(
        d
        for d in export_metal3(topology, ExportOptions(cluster_api=False)).documents
        if d["kind"] == "Secret"
    )
    assert secret["data"]["username"] == "cm9vdA=="  # root, from the Secret given


@pytest.mark.parametrize(("mode", "firmware"), [("UEFI", "uefi"), ("legacy", "bios")])
def test_a_virtual_media_host_boots_through_virtual_media(mode: str, firmware: str) -> None:
    """Strata's image boots either firmware (GRUB on UEFI, iPXE on BIOS): the host's
    virtual-media address is kept on both, with no note, and the plan boots it so."""
    imported = import_hosts([("hosts.yaml", HOSTS.replace("bootMode: UEFI", f"bootMode: {mode}"))])
    assert not [n for n in imported.notes if n.startswith("vm-0:")]
    checked = check_text(imported.text, "topology.yaml")
    assert checked.topology is not None, [d.message for d in checked.errors]
    node = next(n for n in build_plan(checked.topology).nodes if n.name == "vm-0")
    assert (node.boot_method, node.firmware) == ("virtualmedia", firmware)
    assert node.bmc_address.startswith("redfish-virtualmedia+https://10.0.0.2:8443")


# hyperscale runs the same code as midsize: ruamel's pure-Python reader would take a
# minute on its 10,009 hosts
STABLE = [e for e in EXAMPLES if e.parent.name != "hyperscale"]


@pytest.mark.parametrize("example", STABLE, ids=lambda p: p.parent.name)
def test_export_import_export_is_stable(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = readable_example(example, tmp_path, monkeypatch)
    first = export_metal3(topology, options(topology, tmp_path)).documents
    imported = import_hosts([("export.yaml", dump_documents(first, "yaml"))], name=topology.name)
    checked = check_text(imported.text, str(tmp_path / "again.yaml"))
    assert [d.render() for d in checked.errors] == []
    assert checked.topology is not None
    for name in {s["metadata"]["name"] for s in first if s["kind"] == "Secret"}:
        monkeypatch.setenv(name.upper().replace("-", "_") + "_PASSWORD", "y")
    second = export_metal3(checked.topology, options(checked.topology, tmp_path)).documents
    assert _hosts(second) == _hosts(first)
    clusters = {d["metadata"]["name"] for d in first if d["kind"] == "Cluster"}
    for kind in ("Cluster", "Metal3Cluster"):
        again = [d for d in second if d["kind"] == kind and d["metadata"]["name"] in clusters]
        assert again == [d for d in first if d["kind"] == kind]


BAD = [
    (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "hosts.yaml:2:1",
        "not a BareMetalHost",
    ),
    (
        "apiVersion: metal3.io/v1alpha1\nkind: BareMetalHost\nmetadata: {name: a}\n"
        "spec:\n  online: true\n  bmc: {credentialsName: s}\n",
        "hosts.yaml:6:3",
        "spec.bmc.address is missing",
    ),
    (
        HOSTS
        + "---\napiVersion: metal3.io/v1alpha1\nkind: BareMetalHost\nmetadata:\n  name: rf-0\n"
        "spec: {online: true, bmc: {address: 'ipmi://10.0.0.9'}}\n",
        f"hosts.yaml:{HOSTS.count(chr(10)) + 5}:3",
        "rf-0 is written twice",
    ),
    ("kind: BareMetalHost\nmetadata: {name: [}\n", "hosts.yaml:", ""),
]


@pytest.mark.parametrize(("text", "place", "said"), BAD)
def test_bad_input_is_located_and_nothing_is_written(
    text: str, place: str, said: str, tmp_path: Path
) -> None:
    with pytest.raises(ImportError_) as caught:
        import_hosts([("hosts.yaml", text)])
    assert str(caught.value).startswith(place) and said in str(caught.value)
    source = tmp_path / "hosts.yaml"
    source.write_text(text)
    out = tmp_path / "topology.yaml"
    result = CliRunner().invoke(cli, ["import", "metal3", str(source), "-o", str(out)])
    assert result.exit_code != 0 and not out.exists()
    assert f"{source}:" in result.output


REAL_METAL3 = """\
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata: {name: node-0, labels: {cluster-role: control-plane}}
spec:
  bmc: {address: "redfish://10.0.0.1/redfish/v1/Systems/1", credentialsName: bmc}
  bootMACAddress: "52:54:00:00:00:01"
---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata: {name: node-1, labels: {cluster-role: worker}}
spec:
  bmc: {address: "redfish://10.0.0.2/redfish/v1/Systems/1", credentialsName: bmc}
  bootMACAddress: "52:54:00:00:00:02"
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata: {name: prod}
spec:
  clusterNetwork: {pods: {cidrBlocks: [10.1.0.0/16]}, services: {cidrBlocks: [10.2.0.0/16]}}
  controlPlaneRef: {kind: KubeadmControlPlane, name: prod-kcp}
  infrastructureRef: {kind: Metal3Cluster, name: prod-m3}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: Metal3Cluster
metadata: {name: prod-m3}
spec: {controlPlaneEndpoint: {host: 10.0.0.100, port: 6443}}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata: {name: prod-kcp}
spec:
  version: v1.30.1
  machineTemplate: {infrastructureRef: {kind: Metal3MachineTemplate, name: prod-cp}}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: Metal3MachineTemplate
metadata: {name: prod-cp}
spec: {template: {spec: {hostSelector: {matchLabels: {cluster-role: control-plane}}}}}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: Metal3MachineTemplate
metadata: {name: prod-md}
spec: {template: {spec: {hostSelector: {matchLabels: {cluster-role: worker}}}}}
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata: {name: prod-md}
spec:
  clusterName: prod
  template: {spec: {clusterName: prod, infrastructureRef: {kind: Metal3MachineTemplate, name: prod-md}}}
"""


def test_hosts_without_strata_labels_join_the_cluster_whose_template_selects_them() -> None:
    """The usual Metal3 input: hosts labelled as their own templates select them, the
    Cluster's parts named apart from it."""
    imported = import_hosts([("metal3.yaml", REAL_METAL3)])
    assert not any("placeholder" in n or "no host labelled" in n for n in imported.notes)
    checked = check_text(imported.text, "topology.yaml")
    assert [d.render() for d in checked.errors] == []
    assert checked.topology is not None
    (layer,) = checked.topology.layers
    assert (layer.name, layer.distribution.version, str(layer.endpoint.vip)) == (
        "prod",
        "1.30.1",
        "10.0.0.100",
    )
    roles = {n.name: (n.layer, n.role) for n in checked.topology.nodes}
    assert roles == {"node-0": ("prod", "control-plane"), "node-1": ("prod", "worker")}


EXPRESSIONS = REAL_METAL3.replace(
    "{hostSelector: {matchLabels: {cluster-role: control-plane}}}",
    "{hostSelector: {matchExpressions: [{key: cluster-role, operator: In, values: [control-plane, cp]}]}}",
).replace(
    "{hostSelector: {matchLabels: {cluster-role: worker}}}",
    "{hostSelector: {matchExpressions: [{key: cluster-role, operator: notin, values: [control-plane, cp]},"
    " {key: cluster-role, operator: Exists, values: []}]}}",
)


def test_a_template_selecting_by_match_expressions_is_read_as_capm3_reads_it() -> None:
    """CAPM3 lowercases each requirement's operator into a label selector: ``In`` and
    ``notin`` alike; a worker template selecting "has the label, not a control-plane
    value" takes node-1 only."""
    assert "matchLabels" not in EXPRESSIONS.split("kind: Metal3MachineTemplate", 1)[1]
    checked = check_text(import_hosts([("metal3.yaml", EXPRESSIONS)]).text, "topology.yaml")
    assert checked.topology is not None, [d.render() for d in checked.errors]
    roles = {n.name: (n.layer, n.role) for n in checked.topology.nodes}
    assert roles == {"node-0": ("prod", "control-plane"), "node-1": ("prod", "worker")}


@pytest.mark.parametrize(
    ("requirement", "fault"),
    [
        ("{key: cluster-role, operator: Matches, values: [x]}", "operator 'Matches' is not"),
        ("{key: cluster-role, operator: In, values: []}", "operator in needs values"),
        ("{key: cluster-role, operator: Exists, values: [x]}", "operator exists takes no values"),
        ("{key: size, operator: Gt, values: [big]}", "operator gt needs an integer value"),
    ],
)
def test_a_requirement_capm3_would_refuse_is_refused_at_its_place(
    requirement: str, fault: str
) -> None:
    text = REAL_METAL3.replace(
        "{hostSelector: {matchLabels: {cluster-role: worker}}}",
        f"{{hostSelector: {{matchExpressions: [{requirement}]}}}}",
    )
    with pytest.raises(ImportError_) as caught:
        import_hosts([("metal3.yaml", text)])
    message = str(caught.value)
    assert fault in message and message.startswith("metal3.yaml:"), message
