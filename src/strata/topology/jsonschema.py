"""The JSON Schema of topology.yaml, and its field reference rendered as Markdown.

The schema is what editors use to complete and check the file (through the
``# yaml-language-server: $schema=…`` comment in the examples); the Markdown
reference in docs/topology.md is generated from the same field descriptions,
and a test keeps both files in step with the models.
"""

from __future__ import annotations

import json
from typing import Any

from strata.topology.spec import API_VERSION, TopologySpec

__all__ = ["SCHEMA_ID", "schema_json", "schema_markdown", "topology_json_schema"]

SCHEMA_ID = "https://strata.dev/schemas/topology-v1alpha1.json"


def topology_json_schema() -> dict[str, Any]:
    schema = TopologySpec.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": f"Strata topology ({API_VERSION})",
    }


def schema_json() -> str:
    return json.dumps(topology_json_schema(), indent=2, sort_keys=False) + "\n"


def schema_markdown() -> str:
    """One table per object: key, type, required, description."""
    schema = topology_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    order = ["TopologySpec", *sorted(defs)]
    objects = {"TopologySpec": schema, **defs}
    out: list[str] = []
    for name in order:
        obj = objects[name]
        if "properties" not in obj:
            continue
        out.append(f"### {_title(name)}\n")
        if obj.get("description"):
            out.append(" ".join(obj["description"].split()) + "\n")
        out.append("| key | type | required | description |")
        out.append("|---|---|---|---|")
        required = set(obj.get("required", []))
        for key, prop in obj["properties"].items():
            text = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
            yes = "yes" if key in required else ""
            out.append(f"| `{key}` | {_type(prop)} | {yes} | {text} |")
        out.append("")
    return "\n".join(out)


def _title(name: str) -> str:
    return name.removesuffix("Spec") if name != "TopologySpec" else "Topology (the document)"


def _type(prop: dict[str, Any] | bool) -> str:
    if not isinstance(prop, dict):
        return "any"
    if "$ref" in prop:
        target = _title(prop["$ref"].rsplit("/", 1)[-1])
        return f"[{target}](#{target.lower().replace(' ', '-').replace('(', '').replace(')', '')})"
    if "anyOf" in prop:
        kinds = [_type(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {_type(prop['additionalProperties'])}"
    fmt = prop.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)
