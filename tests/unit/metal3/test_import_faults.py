"""`strata import metal3` on input that is wrong in shape or in what it says: a located
error in the INPUT file (never a traceback, never a topology `strata validate` refuses).

Each case is one kind of fault the break-in found (its number in the comment), in the
smallest host that shows it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from strata.metal3.importer import import_hosts
from strata.metal3.reading import ImportError_
from strata.topology import check_text

HEAD = "apiVersion: metal3.io/v1alpha1\nkind: BareMetalHost\n"


def host(
    name: str = "h1", *, labels: str = "{}", mac: str = '"52:54:00:00:00:01"', **spec: str
) -> str:
    """A BareMetalHost; ``spec`` fields as flow YAML, bmc's by default."""
    bmc = spec.pop("bmc", '{address: "ipmi://10.0.0.1", credentialsName: s}')
    lines = [f"metadata: {{name: {name}, labels: {labels}}}", "spec:", f"  bmc: {bmc}"]
    if mac:
        lines.append(f"  bootMACAddress: {mac}")
    lines += [f"  {key}: {value}" for key, value in spec.items()]
    return HEAD + "\n".join(lines) + "\n"


def two(first: str, second: str) -> str:
    return first + "---\n" + second


CAPI = """\
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: k}
spec: {clusterNetwork: {pods: {cidrBlocks: [10.1.0.0/16]}, services: {cidrBlocks: [10.2.0.0/16]}}}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: Metal3Cluster
metadata: {name: k}
spec: {controlPlaneEndpoint: {host: 10.5.5.5, port: PORT}}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata: {name: k}
spec: {version: VERSION}
"""

FAULTS = [
    # A1-A4: a list or scalar where the API has a mapping
    (
        HEAD + "metadata: {name: h1, labels: [a]}\nspec: {}\n",
        "3:22",
        "metadata.labels is not a mapping",
    ),
    (host(rootDeviceHints="[a]"), "7:3", "spec.rootDeviceHints is not a mapping"),
    (host(bootMode="[x]"), "7:3", "spec.bootMode is not a string"),
    ("apiVersion: v1\nkind: List\nitems: 5\n", "3:1", "a List's items are not a list"),
    (
        "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: [x]\n---\n" + host(),
        "3:1",
        "the Cluster's metadata is not a mapping",
    ),
    (
        "apiVersion: v1\nkind: Secret\nmetadata: [x]\n---\n" + host(),
        "3:1",
        "the Secret's metadata is not a mapping",
    ),
    (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: [x]\n---\n" + host(),
        "4:1",
        "Secret s's data is not a mapping",
    ),
    # D20: places after the first document, and a name that is not a string
    (host() + "---\njust text\n", "8:1", "not a Kubernetes object"),
    (host() + "---\napiVersion: v1\nkind: List\nitems:\n- 5\n", "11:3", "not a Kubernetes object"),
    (HEAD + "metadata: {name: 123}\nspec: {}\n", "3:12", "metadata.name is not a string"),
    # C15: a scheme Strata does not speak
    (
        host(bmc='{address: "idrac://10.0.0.1", credentialsName: s}'),
        "5:9",
        "does not speak idrac://",
    ),
    (host(bmc='{address: "foo://10.0.0.1", credentialsName: s}'), "5:9", "does not speak foo://"),
    # C16: values Strata's validation refuses, located at the input field
    (host("Host_A.example.com"), "3:12", "is not a valid name"),
    (host("x" * 70), "3:12", "is not a valid name"),
    (
        two(host("a"), host("b", bmc='{address: "ipmi://10.0.0.2", credentialsName: s}')),
        "13:3",
        "MAC 52:54:00:00:00:01 of node b is already used",
    ),
    (
        two(
            host("a", bmc='{address: "redfish://10.0.0.1:443/x", credentialsName: s}'),
            host(
                "b",
                mac='"52:54:00:00:00:02"',
                bmc='{address: "redfish://10.0.0.1/x", credentialsName: s}',
            ),
        ),
        "12:9",
        "BMC redfish://10.0.0.1/x of node b is already used",
    ),
    (host(mac="zz:zz"), "6:3", "is not a MAC address"),
    (host(labels="{strata.dev/layer: Bad_Layer}"), "3:31", "must be a DNS label"),
    (
        two(
            host("a", bmc="{address: ipmi://10.0.0.1, credentialsName: bmc_a}"),
            host(
                "b",
                mac='"52:54:00:00:00:02"',
                bmc="{address: ipmi://10.0.0.2, credentialsName: bmc-a}",
            ),
        ),
        "12:35",
        "Secrets bmc_a and bmc-a would both be credentials entry bmc-a",
    ),
    (
        host(rootDeviceHints="{minSizeGigabytes: -5}"),
        "7:21",
        "minSizeGigabytes -5 is not a whole number >= 0",
    ),
    (host(rootDeviceHints="{deviceName: 5}"), "7:21", "rootDeviceHints.deviceName is not a string"),
    (
        host(labels="{strata.dev/layer: k}")
        + CAPI.replace("PORT", "6443").replace("VERSION", "[1]"),
        "21:8",
        "KubeadmControlPlane k: spec.version is not a string",
    ),
    (
        host(labels="{strata.dev/layer: k}")
        + CAPI.replace("PORT", "99999").replace("VERSION", "v1.31.2"),
        "16:8",
        "less than or equal to 65535",
    ),
    # C17: the boot MAC missing or read as a number (YAML 1.1 writers)
    (host(mac=""), "4:1", "has no spec.bootMACAddress"),
    (host(mac="41135040001"), "6:3", "spec.bootMACAddress is not a string"),
    # D21: a boot mode Metal3 does not have; no credentials (export would fail)
    (host(bootMode="Bogus"), "7:3", "bootMode 'Bogus' is not one of UEFI, UEFISecureBoot, legacy"),
    (host(bmc='{address: "ipmi://10.0.0.1"}'), "5:3", "has no spec.bmc.credentialsName"),
]


@pytest.mark.parametrize(("text", "place", "said"), FAULTS)
def test_a_fault_is_an_error_located_in_the_input(text: str, place: str, said: str) -> None:
    with pytest.raises(ImportError_) as caught:
        import_hosts([("hosts.yaml", text)])
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"hosts.yaml:{place}: "), first
    assert said in first, first


def test_whatever_is_imported_validates() -> None:
    """The fixes above in one input that is right: every scheme family, a UEFI HTTP host."""
    text = two(
        host(
            "a",
            bmc='{address: "redfish-uefihttp://10.0.0.1/redfish/v1/Systems/1", credentialsName: s}',
        ),
        host(
            "b",
            mac='"52:54:00:00:00:02"',
            bmc='{address: "ipmi://[fe80::1%25eth0]", credentialsName: s}',
        ),
    )
    imported = import_hosts([("hosts.yaml", text)])
    checked = check_text(imported.text, "topology.yaml")
    assert [d.render() for d in checked.errors] == []
    assert checked.topology is not None
    nodes = {n.name: n for n in checked.topology.nodes}
    assert nodes["a"].boot.method == "http"  # the scheme's boot, not defaults' ipxe (C14)
    assert nodes["b"].bmc.address.startswith("ipmi://[fe80::1%eth0]")  # RFC 6874 decoded


def test_layers_keep_the_order_the_input_names_them() -> None:
    hosts = [
        host(
            name,
            mac=f'"52:54:00:00:00:0{i}"',
            labels=f"{{strata.dev/layer: {layer}, strata.dev/rack: {rack}}}",
            bmc=f'{{address: "ipmi://10.0.0.{i}", credentialsName: s}}',
        )
        for i, (name, layer, rack) in enumerate(
            [("m", "mgmt", "r2"), ("w", "web", "r1"), ("x", "analytics", "r1")], start=1
        )
    ]
    imported = import_hosts([("hosts.yaml", "---\n".join(hosts))])
    checked = check_text(imported.text, "topology.yaml")
    assert checked.topology is not None
    assert [layer.name for layer in checked.topology.layers] == ["mgmt", "web", "analytics"]


def test_the_cli_says_every_problem_on_its_own_line(tmp_path: Path) -> None:
    source = tmp_path / "hosts.yaml"
    source.write_text(
        two(
            host("a", mac="zz"),
            host("b", mac="yy", bmc='{address: "ipmi://10.0.0.2", credentialsName: s}'),
        )
    )
    result = CliRunner().invoke(cli, ["import", "metal3", str(source)])
    assert result.exit_code == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(": ")[1] for e in errors] == [f"{source}:6:3", f"{source}:13:3"]


def test_input_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "hosts.yaml"
    source.write_bytes(b"\xff\xfe" + host().encode("utf-16-le"))
    result = CliRunner().invoke(cli, ["import", "metal3", str(source)])
    assert result.exit_code == 1 and "not UTF-8 text (byte 0)" in result.stderr
    assert "Traceback" not in result.output


def test_an_unwritable_output_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "hosts.yaml"
    source.write_text(host())
    out = tmp_path / "nonexistent" / "dir" / "out.yaml"
    result = CliRunner().invoke(cli, ["import", "metal3", str(source), "-o", str(out)])
    assert result.exit_code == 1 and "cannot be written" in result.stderr
    assert "Traceback" not in result.output


def test_a_full_disk_keeps_the_file_that_was_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails half way (the disk full: fsync says ENOSPC) leaves the old file
    whole and no temporary beside it."""
    source, out = tmp_path / "hosts.yaml", tmp_path / "topology.yaml"
    source.write_text(host())
    out.write_text("kept\n")

    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = CliRunner().invoke(cli, ["import", "metal3", str(source), "-o", str(out)])
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert out.read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hosts.yaml", "topology.yaml"]
