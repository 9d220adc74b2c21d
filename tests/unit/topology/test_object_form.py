"""`strata validate -f` (every command reading a topology) takes the Topology OBJECT a
GitOps repository commits as well as the document: its findings are located in that
file at the object's paths (spec.…); what only the object has (metadata.namespace,
annotations, spec.consent) is checked too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from strata.operator.objects import topology_object
from strata.topology import check_text
from strata.topology.diagnostics import format_path

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"


def _object(**metadata: Any) -> dict[str, Any]:
    document = yaml.safe_load(LAB.read_text())
    obj = topology_object(document, "strata-system", {"allowReprovision": ["lab-cp-0"]})
    obj["metadata"].update(metadata)
    return obj


def _errors(obj: dict[str, Any]) -> dict[str, str]:
    checked = check_text(yaml.safe_dump(obj, sort_keys=False), "lab-object.yaml")
    return {format_path(d.path): d.render() for d in checked.errors}


def test_the_object_form_validates_as_the_document_does() -> None:
    obj = _object(labels={"team": "dc-ops"}, annotations={"note": "anything at all"})
    text = yaml.safe_dump(obj, sort_keys=False)
    checked = check_text(text, "lab-object.yaml")
    assert checked.errors == [] and checked.topology is not None
    document = check_text(LAB.read_text(), str(LAB)).topology
    assert document is not None
    assert checked.topology.summary() == document.summary()


def test_a_finding_is_located_in_the_object_file() -> None:
    obj = _object()
    obj["spec"]["networks"][0]["cidr"] = "192.168.100.0/255.255.255.0"
    obj["spec"]["defaults"]["install_disk"] = "/dev/vda"
    text = yaml.safe_dump(obj, sort_keys=False)
    errors = _errors(obj)
    assert set(errors) == {"spec.networks[0].cidr", "spec.defaults.install_disk"}
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "255.255.255.0" in t)
    assert errors["spec.networks[0].cidr"].startswith(f"lab-object.yaml:{line}:")
    assert "write 'installDisk'" in errors["spec.defaults.install_disk"]


def test_what_only_the_object_has_is_checked() -> None:
    obj = _object(namespace="Not_A_Namespace", uid="1234", annotations={"n": 1})
    obj["spec"]["consent"] = {"allowReprovision": ["lab-cp-0", "nosuch"], "prune": "yes", "x": 1}
    errors = _errors(obj)
    assert set(errors) == {
        "metadata.namespace",
        "metadata.uid",
        "metadata.annotations.n",
        "spec.consent.allowReprovision[1]",
        "spec.consent.prune",
        "spec.consent.x",
    }, errors
    assert "no node named 'nosuch'" in errors["spec.consent.allowReprovision[1]"]


def test_a_node_consented_twice_is_a_warning() -> None:
    obj = _object()
    obj["spec"]["consent"] = {"allowReprovision": ["lab-cp-0", "lab-cp-0"]}
    checked = check_text(yaml.safe_dump(obj, sort_keys=False), "lab-object.yaml")
    assert checked.errors == []
    assert [format_path(w.path) for w in checked.warnings if "twice" in w.message] == [
        "spec.consent.allowReprovision[1]"
    ]
