"""`strata topology apply` against the real API server (v1.20.2), each kind of fault a
clean located error, never a traceback, and nothing sent when it should not be: bad
kubeconfigs (not YAML, empty, no current context, a missing exec plugin), a file the
controller could not read (inlined or refused), an object past the size etcd takes, a
404 for a missing namespace vs a missing CRD, consent for a node FILE lacks; the
kubeconfig found as kubectl finds it, warnings printed, the namespace used said, a
Topology OBJECT file applied as it is."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from strata.cli.app import cli
from strata.operator.objects import MAX_OBJECT_BYTES, topology_object
from tests.support.kube_api import ControlPlane

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples/lab/topology.yaml"
API = "/apis/strata.dev/v1alpha1/namespaces/{ns}/topologies"


def _strata(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _namespace(plane: ControlPlane, name: str) -> None:
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        assert api.post("/api/v1/namespaces", json=body).status_code in (201, 409)


def _stored(plane: ControlPlane, ns: str, name: str = "lab") -> dict[str, Any] | None:
    with plane.client() as api:
        got = api.get(f"{API.format(ns=ns)}/{name}")
    return got.json() if got.status_code == 200 else None


def _lab() -> dict[str, Any]:
    return dict(yaml.safe_load(LAB.read_text()))


KUBECONFIGS = {
    "not-yaml": ("not yaml: [", "not a kubeconfig (not YAML at line 1"),
    "empty": ("{}", "it has no clusters"),
    "no-context": (None, "it sets no current-context"),
    "exec-missing": (None, "credential plugin could not run: /nonexistent-plugin"),
}


@pytest.mark.parametrize("case", sorted(KUBECONFIGS))
def test_a_bad_kubeconfig_is_a_clean_error(plane: ControlPlane, tmp_path: Path, case: str) -> None:
    text, expected = KUBECONFIGS[case]
    if text is None:
        config = yaml.safe_load(plane.admin_kubeconfig().read_text())
        if case == "no-context":
            config.pop("current-context")
        else:
            config["users"][0]["user"] = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "/nonexistent-plugin",
                }
            }
        text = yaml.safe_dump(config)
    (tmp_path / "config").write_text(text)
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--kubeconfig", str(tmp_path / "config")
    )
    assert code == 1 and expected in out, out
    assert "Traceback" not in out


def test_kubeconfig_as_kubectl_finds_it_and_the_namespace_is_said(
    plane: ControlPlane, tmp_path: Path
) -> None:
    listed = f"{tmp_path / 'missing'}:{plane.admin_kubeconfig()}"  # the first that exists
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--dry-run", env={"KUBECONFIG": listed}
    )
    assert code == 0, out
    assert (
        "in namespace default" in out and "the controller reads Topology objects in its own" in out
    )
    code, out = _strata(
        "topology",
        "apply",
        "-f",
        str(LAB),
        "--dry-run",
        env={"KUBECONFIG": "", "HOME": str(tmp_path)},
    )
    assert code == 1 and f"{tmp_path}/.kube/config: cannot read it" in out, out


def test_a_404_names_its_cause(plane: ControlPlane) -> None:
    where = ["--kubeconfig", str(plane.admin_kubeconfig())]
    code, out = _strata("topology", "apply", "-f", str(LAB), *where, "-n", "nope")
    assert code == 1 and "namespace nope does not exist" in out and "install the CRDs" not in out


def test_a_file_reference_is_inlined_or_refused(plane: ControlPlane, tmp_path: Path) -> None:
    _namespace(plane, "files")
    where = ["--kubeconfig", str(plane.admin_kubeconfig()), "-n", "files"]
    fragment = {"ignition": {"version": "3.4.0"}, "storage": {"files": [{"path": "/etc/motd"}]}}
    (tmp_path / "motd.yaml").write_text(yaml.safe_dump(fragment))
    document = _lab()
    document["defaults"]["ignition"] = [{"name": "motd", "file": "motd.yaml"}]
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    code, out = _strata("topology", "apply", "-f", str(tmp_path / "topology.yaml"), *where)
    assert code == 0, out
    stored = _stored(plane, "files")
    assert stored is not None
    assert stored["spec"]["defaults"]["ignition"] == [{"name": "motd", "inline": fragment}]

    (tmp_path / "ca.pem").write_text(plane.pki.ca.cert_pem)
    document["defaults"]["bmc"]["caBundle"] = "ca.pem"
    document["metadata"]["name"] = "with-ca"
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    code, out = _strata("topology", "apply", "-f", str(tmp_path / "topology.yaml"), *where)
    assert code == 1 and "defaults.bmc.caBundle: a CA bundle file cannot be sent" in out, out
    assert _stored(plane, "files", "with-ca") is None


def test_warnings_are_printed_and_consent_nodes_checked(
    plane: ControlPlane, tmp_path: Path
) -> None:
    _namespace(plane, "consent")
    where = ["--kubeconfig", str(plane.admin_kubeconfig()), "-n", "consent"]
    document = _lab()
    nodes = document["regions"][0]["zones"][0]["racks"][0]["nodes"]
    nodes[1]["nics"][0]["ip"] = "dhcp"  # a warning: no pod network route for it
    file = tmp_path / "topology.yaml"
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    code, out = _strata(
        "topology", "apply", "-f", str(file), *where, "--allow-reprovision", "nosuch"
    )
    assert code == 2 and "--allow-reprovision nosuch: no such node" in out
    assert _stored(plane, "consent") is None
    name = nodes[0]["name"]
    code, out = _strata(
        "topology", "apply", "-f", str(file), *where, *["--allow-reprovision", name] * 2
    )
    assert code == 0, out
    assert ": warning: " in out
    stored = _stored(plane, "consent")
    assert stored is not None and stored["spec"]["consent"] == {"allowReprovision": [name]}


def test_an_object_over_the_bound_is_refused_before_sending_and_one_under_it_is_stored(
    plane: ControlPlane, tmp_path: Path
) -> None:
    _namespace(plane, "big")
    document = _lab()
    rack = document["regions"][0]["zones"][0]["racks"][0]
    rack["nodes"][0]["labels"] = {f"k{i}": "v" * 60 for i in range(60)}  # valid, large
    i = 0
    while (
        len(json.dumps(topology_object(document, "big"), separators=(",", ":"))) <= MAX_OBJECT_BYTES
    ):
        rack["nodes"].extend(
            {**copy.deepcopy(rack["nodes"][0]), "name": f"x{i}-{k}"} for k in range(50)
        )
        i += 1
    obj = topology_object(document, "big")
    assert len(json.dumps(obj, separators=(",", ":"))) > MAX_OBJECT_BYTES
    from strata.operator.objects import ApplyRefused, apply_topology

    with pytest.raises(ApplyRefused) as refused:
        apply_topology(obj, plane.admin_kubeconfig())
    assert "generators" in str(refused.value.hint)
    assert _stored(plane, "big") is None
    while len(json.dumps(obj, separators=(",", ":"))) > MAX_OBJECT_BYTES:  # just under it
        obj["spec"]["regions"][0]["zones"][0]["racks"][0]["nodes"].pop()
    apply_topology(obj, plane.admin_kubeconfig())  # etcd takes it, managed fields and all
    assert _stored(plane, "big") is not None


def test_the_object_file_applies_as_it_is(plane: ControlPlane, tmp_path: Path) -> None:
    """A Topology OBJECT file (what GitOps commits) applies as it is, its namespace,
    annotations and consent included."""
    _namespace(plane, "gitops")
    obj = topology_object(_lab(), "gitops", {"prune": True})
    obj["metadata"]["annotations"] = {"team": "dc ops"}
    file = tmp_path / "lab-object.yaml"
    file.write_text(yaml.safe_dump(obj, sort_keys=False))
    code, out = _strata(
        "topology", "apply", "-f", str(file), "--kubeconfig", str(plane.admin_kubeconfig())
    )
    assert code == 0 and "in namespace gitops" in out, out
    stored = _stored(plane, "gitops")
    assert stored is not None and stored["spec"] == obj["spec"]
    assert stored["metadata"]["annotations"] == {"team": "dc ops"}


def test_entries_of_a_list_keyed_by_name_are_merged_across_field_managers(
    plane: ControlPlane,
) -> None:
    """credentials (and networks, layers, regions, zones) are list-maps: another field
    manager's entry stays beside strata's through strata's next apply (1.20's
    server-side apply honours that only when the CRD's OpenAPI models build)."""
    _namespace(plane, "managers")
    where = ["--kubeconfig", str(plane.admin_kubeconfig()), "-n", "managers"]
    assert _strata("topology", "apply", "-f", str(LAB), *where)[0] == 0
    other = {
        "apiVersion": "strata.dev/v1alpha1",
        "kind": "Topology",
        "metadata": {"name": "lab"},
        "spec": {"credentials": [{"name": "other", "username": "u", "password": {"env": "X"}}]},
    }
    with plane.client() as api:
        answer = api.patch(
            f"{API.format(ns='managers')}/lab",
            params={"fieldManager": "someone-else"},
            content=json.dumps(other),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        assert answer.status_code == 200, answer.text
    assert _strata("topology", "apply", "-f", str(LAB), *where)[0] == 0
    stored = _stored(plane, "managers")
    assert stored is not None
    assert [c["name"] for c in stored["spec"]["credentials"]] == ["lab-bmc", "other"]
