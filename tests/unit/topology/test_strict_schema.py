"""validate is as strict as the Topology CRD (the real API server's side is
tests/integration/operator/test_validate_agrees.py): a snake_case key is unknown with
the camelCase spelling as hint; a quoted number or bool, a number for a bool, a CIDR
with a netmask or without a prefix, an address with a zone, an invalid metadata label
are located errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.topology import check_text
from strata.topology.diagnostics import format_path

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


def _errors(edit: Any) -> dict[str, str]:
    document = yaml.safe_load(LAB.read_text())
    edit(document)
    checked = check_text(yaml.safe_dump(document, sort_keys=False), "topology.yaml")
    return {format_path(d.path): f"{d.message} ({d.hint})" for d in checked.errors}


def test_a_snake_case_key_is_unknown_and_the_hint_spells_it() -> None:
    errors = _errors(lambda d: d["layers"][0].update(pod_cidr=d["layers"][0].pop("podCIDR")))
    assert "keys are camelCase: write 'podCIDR'" in errors["layers[0].pod_cidr"]


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        (("networks", 0, "vlan"), "100", "valid integer (write a whole number without quotes"),
        (
            ("defaults", "bmc", "insecure"),
            "yes",
            "valid boolean (write true or false without quotes",
        ),
        (("layers", 0, "pivot"), 1, "valid boolean (write true or false)"),
        (("networks", 0, "cidr"), "192.168.100.0/255.255.255.0", "write address/prefix-length"),
        (("networks", 0, "cidr"), "192.168.100.0", "write address/prefix-length"),
        (("networks", 1, "dns"), ["fe80::1%eth0"], "without a zone"),
        (("metadata", "labels"), {"team": "data center ops"}, "not a Kubernetes label value"),
    ],
)
def test_what_the_crd_refuses_is_a_located_error(
    where: tuple[str | int, ...], value: Any, says: str
) -> None:
    def edit(document: dict[str, Any]) -> None:
        node: Any = document
        for part in where[:-1]:
            node = node[part]
        node[where[-1]] = value

    errors = _errors(edit)
    path = format_path(where) + ("[0]" if where[-1] == "dns" else "")
    path += ".team" if where[-1] == "labels" else ""
    assert says in errors[path], errors
