"""`strata export metal3` refuses, before printing anything, what the API server, Metal3
or Cluster API would refuse; and the units of a size hint (docs/metal3.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.metal3.export import ExportError, ExportOptions, export_metal3
from strata.metal3.importer import import_hosts
from strata.metal3.output import dump_documents
from strata.metal3.units import gb_to_metal3, metal3_to_gb
from strata.topology import Topology, check_text
from tests.unit.metal3.conftest import options

TOPOLOGY = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {{name: t}}
defaults:
  os: {{name: flatcar, channel: stable, version: "4081.2.0"}}
  bmc: {{credentials: c}}
  boot: {{method: ipxe, firmware: uefi}}
credentials:
  - {{name: c, username: admin, password: {password}}}
networks:
  - {{name: bmc, purpose: bmc, cidr: 10.1.0.0/24}}
  - {{name: provisioning, purpose: provisioning, cidr: 10.2.0.0/24}}
layers:
  - name: {layer}
    distribution: {{name: kubeadm, version: "1.31.2"}}
    endpoint: {{vip: 10.2.0.10}}
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
regions:
  - name: {region}
    zones:
      - name: {zone}
        racks:
          - name: rk
            defaults: {{layer: {layer}}}
            nodes:
              - {{name: n1, role: control-plane, bmc: {{address: "{address}"}}, bootMAC: "52:54:00:20:00:01", rootDeviceHints: {{minSizeGigabytes: 480}}}}
              - {{name: n2, role: {role2}, bmc: {{address: "ipmi://10.1.0.2"}}, bootMAC: "52:54:00:20:00:02"}}
              - {{name: n3, bmc: {{address: "ipmi://10.1.0.3"}}, bootMAC: "52:54:00:20:00:03"}}
"""


def topology(monkeypatch: pytest.MonkeyPatch, env: str = "pw", **given: str) -> Topology:
    values = {
        "password": "{env: T_PW}",
        "layer": "k",
        "region": "r",
        "zone": "z",
        "address": "ipmi://10.1.0.1",
        "role2": "worker",
    } | given
    monkeypatch.setenv("T_PW", env)
    checked = check_text(TOPOLOGY.format(**values), "topology.yaml")
    assert [d.render() for d in checked.errors] == []
    assert checked.topology is not None
    return checked.topology


def refused(topology: Topology, chosen: ExportOptions) -> str:
    with pytest.raises(ExportError) as caught:
        export_metal3(topology, chosen)
    return str(caught.value)


def test_a_label_value_over_63_characters_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """B7: the zone label is `<region>-<zone>`; the API server refuses the hosts."""
    given = topology(monkeypatch, region="r" * 40, zone="z" * 30)
    said = refused(given, ExportOptions(cluster_api=False))
    assert "BareMetalHost n1 (and 2 more): label topology.kubernetes.io/zone=" in said
    assert "71 characters" in said and "at most 63" in said


def test_a_long_layer_name_gets_a_short_deployment_label(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """B7: `<layer>-workers` is a name (253) and a label value (63): shortened, stably."""
    given = topology(monkeypatch, layer="l" * 60)
    documents = export_metal3(given, options(given, tmp_path)).documents
    deployment = next(d for d in documents if d["kind"] == "MachineDeployment")
    label = deployment["spec"]["selector"]["matchLabels"]["cluster.x-k8s.io/deployment-name"]
    assert len(label) <= 63 and label.startswith("l" * 50)
    assert (
        deployment["spec"]["template"]["metadata"]["labels"]["cluster.x-k8s.io/deployment-name"]
        == label
    )
    assert deployment["metadata"]["name"] == "l" * 60 + "-workers"


def test_cluster_api_objects_need_an_image_and_its_checksum(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """B8: CAPM3 refuses a Metal3MachineTemplate without image.url or image.checksum."""
    given = topology(monkeypatch)
    said = refused(given, ExportOptions())
    assert "--image-base" in said and "--no-cluster-api" in said
    said = refused(given, ExportOptions(image_base="http://img/os", artifacts=tmp_path / "none"))
    assert "no checksum for flatcar_production_image.bin.bz2" in said and "--artifacts" in said
    kinds = {d["kind"] for d in export_metal3(given, ExportOptions(cluster_api=False)).documents}
    assert kinds == {"Secret", "BareMetalHost"}


def test_an_even_control_plane_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """B9: KubeadmControlPlane's webhook refuses an even replica count with stacked etcd."""
    given = topology(monkeypatch, role2="control-plane")
    said = refused(given, options(given, tmp_path))
    assert "2 control-plane nodes" in said and "odd" in said


def test_an_ipv6_zone_is_percent_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """B11: RFC 6874; Go's url.Parse (Metal3's) refuses a bare % in a host."""
    given = topology(monkeypatch, address="ipmi://[fe80::1%eth0]")
    documents = export_metal3(given, ExportOptions(cluster_api=False)).documents
    host = next(d for d in documents if d["metadata"]["name"] == "n1")
    assert host["spec"]["bmc"]["address"] == "ipmi://[fe80::1%25eth0]"
    again = import_hosts([("x.yaml", dump_documents(documents, "yaml"))], name="t")
    assert "ipmi://[fe80::1%eth0]" in again.text


def test_an_empty_password_is_refused_naming_node_and_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B12: Metal3 refuses a BMC Secret with an empty password."""
    said = refused(topology(monkeypatch, env=""), ExportOptions(cluster_api=False))
    assert said == (
        "node n1: credentials c: the password is empty (Metal3 refuses a BMC Secret without it)"
    )


def test_a_kubernetes_secret_password_is_said_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    given = topology(monkeypatch, password="{secret: {name: bmc, key: password}}")
    with pytest.raises(ExportError) as caught:
        export_metal3(given, ExportOptions(cluster_api=False))
    assert "Kubernetes Secret bmc's key password" in str(caught.value)
    assert caught.value.hint is None  # not "set the variables or files"


@pytest.mark.parametrize(
    ("chosen", "said"),
    [
        (ExportOptions(namespace="Bad_NS!"), "namespace 'Bad_NS!' is not a DNS label"),
        (ExportOptions(image_base="not a url"), "--image-base 'not a url' is not an http://"),
    ],
)
def test_bad_options_are_refused(
    monkeypatch: pytest.MonkeyPatch, chosen: ExportOptions, said: str
) -> None:
    assert said in refused(topology(monkeypatch), chosen)


def test_a_size_hint_keeps_matching_the_disks_it_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    """B10: Strata's minSizeGigabytes is GB (10^9 bytes), Metal3's GiB (Ironic compares
    the disk's whole GiB). A 480 GB disk (480,103,981,056 bytes, 447.1 GiB) that Strata's
    480 matches, Metal3's exported hint matches too."""
    documents = export_metal3(topology(monkeypatch), ExportOptions(cluster_api=False)).documents
    host = next(d for d in documents if d["metadata"]["name"] == "n1")
    exported = host["spec"]["rootDeviceHints"]["minSizeGigabytes"]
    assert exported == 447
    disk = 480_103_981_056
    assert disk >= 480 * 10**9 and disk // 2**30 >= exported
    imported = import_hosts([("x.yaml", dump_documents(documents, "yaml"))], name="t")
    assert "minSizeGigabytes: 480" in imported.text  # import, export, import: stable


def test_the_conversion_never_loses_a_disk_and_round_trips() -> None:
    for gigabytes in range(1, 100_001):  # up to 100 TB
        smallest = gigabytes * 10**9  # the smallest disk Strata's hint takes
        gibibytes = gb_to_metal3(gigabytes)
        assert smallest // 2**30 >= gibibytes  # Metal3's takes it too
        back = metal3_to_gb(gibibytes)
        assert back <= gigabytes  # never stricter than what was exported
        assert gb_to_metal3(back) == gibibytes  # import, export: the same Metal3 hint
        assert metal3_to_gb(gb_to_metal3(back)) == back  # import, export, import: stable
