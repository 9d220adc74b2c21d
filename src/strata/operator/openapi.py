"""A pydantic JSON Schema (draft 2020-12) turned into a Kubernetes structural schema.

Kubernetes validates a custom resource with an OpenAPI v3 subset that must be
*structural* (Kubernetes API docs, "Extend the Kubernetes API with
CustomResourceDefinitions", section "Specifying a structural schema"): no ``$ref``,
every node has a ``type`` (or ``x-kubernetes-int-or-string`` /
``x-kubernetes-preserve-unknown-fields``), nothing but value validations (format,
pattern, enum, bounds) inside ``anyOf``, no ``additionalProperties`` beside
``properties``. :func:`structural` does that turn:

- ``$ref`` to ``$defs`` inlined (the topology model has no recursion);
- ``anyOf`` with ``{"type": "null"}`` made ``nullable: true`` — except beside an
  ``enum``: Kubernetes 1.20 checks a null against the enum and refuses it, and refuses a
  CRD whose enum holds null; without ``nullable`` it drops the null field instead
  (a null written there means "not set" to Strata too), and the enum still checks;
- strings of several formats: ``type: string`` with an ``anyOf`` of the formats
  (``ipv4`` / ``ipv6`` are Kubernetes formats; ``ipv4network`` / ``ipv6network``
  become its ``cidr``);
- any other union — a switch's ``ports`` (a count or a list of names), a switch
  port (a name or a number) — has no usable structural form:
  ``x-kubernetes-preserve-unknown-fields`` with no type, listed by
  :func:`free_form_paths`; Strata's own validation still checks it. (String or integer
  has one, ``x-kubernetes-int-or-string``, but Kubernetes 1.20 cannot publish it in the
  CRD's OpenAPI models — "has invalid property: anyOf" in its log — and without those
  models its server-side apply treats every list of the object as atomic, list-map keys
  or not: seen on the real API server);
- ``additionalProperties: true`` (an inline Ignition config: genuinely free-form):
  ``type: object`` with ``x-kubernetes-preserve-unknown-fields``;
- ``additionalProperties: false`` dropped (Kubernetes prunes unknown fields instead),
  ``const`` made a one-value ``enum``; ``title`` and ``default`` dropped — the API
  server would write defaults into the stored object, which then differs from the
  committed file (a GitOps tool reports drift); Strata fills defaults when it resolves
  the topology.

Descriptions are kept: ``kubectl explain`` shows them.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["FREE_FORM", "free_form_paths", "structural"]

Schema = dict[str, Any]

FREE_FORM = "x-kubernetes-preserve-unknown-fields"
_FORMATS = {"ipv4network": "cidr", "ipv6network": "cidr"}  # the rest are Kubernetes' own
_KEPT = (
    "description",
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)
_VALUE_CHECKS = ("enum", "format", "pattern", "minimum", "maximum", "minLength", "maxLength")


def structural(schema: Schema) -> Schema:
    """The structural OpenAPI v3 form of ``schema`` (a JSON Schema with ``$defs``).

    Raises ValueError on a ``$ref`` outside ``$defs`` or a recursive one."""
    return _node(schema, schema.get("$defs", {}), ())


def free_form_paths(schema: Schema, path: str = "") -> list[str]:
    """Dotted paths (``[]`` for array items, ``{}`` for map values) of the nodes of a
    structural ``schema`` that keep unknown fields: what the API server does not check."""
    found = [path or "."] if schema.get(FREE_FORM) else []
    for key, child in schema.get("properties", {}).items():
        found += free_form_paths(child, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        found += free_form_paths(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += free_form_paths(schema["additionalProperties"], f"{path}{{}}")
    return found


def _node(node: Schema, defs: Schema, seen: tuple[str, ...]) -> Schema:
    if "$ref" in node:
        name = _ref_name(node["$ref"], defs, seen)
        out = _node(defs[name], defs, (*seen, name))
        if "description" in node:
            out["description"] = node["description"]
        return out
    if "anyOf" in node:
        out = _union(node["anyOf"], defs, seen)
        if "description" in node:
            out["description"] = node["description"]
        return out
    out = {key: node[key] for key in _KEPT if key in node}
    if "const" in node:
        out["enum"] = [node["const"]]
    if "format" in out:
        out["format"] = _FORMATS.get(out["format"], out["format"])
    kind = node.get("type")
    if kind is not None:
        out["type"] = kind
    if kind == "object" or "properties" in node:
        out.update(_object(node, defs, seen))
    if kind == "array" and "items" in node:
        out["items"] = _node(node["items"], defs, seen)
    return out


def _ref_name(ref: str, defs: Schema, seen: tuple[str, ...]) -> str:
    prefix = "#/$defs/"
    name = ref.removeprefix(prefix)
    if not ref.startswith(prefix) or name not in defs:
        raise ValueError(f"cannot inline {ref!r}: only {prefix}<name> references are")
    if name in seen:
        raise ValueError(f"cannot inline {ref!r}: it refers to itself ({' -> '.join(seen)})")
    return name


def _object(node: Schema, defs: Schema, seen: tuple[str, ...]) -> Schema:
    out: Schema = {"type": "object"}
    if "properties" in node:
        out["properties"] = {k: _node(v, defs, seen) for k, v in node["properties"].items()}
        if node.get("required"):
            out["required"] = list(node["required"])
        return out
    extra = node.get("additionalProperties", True)
    if isinstance(extra, dict):
        out["additionalProperties"] = _node(extra, defs, seen)
    elif extra is True:
        out[FREE_FORM] = True
    return out


def _union(options: list[Schema], defs: Schema, seen: tuple[str, ...]) -> Schema:
    present = [o for o in options if o.get("type") != "null"]
    nullable = len(present) < len(options)
    converted = [_node(o, defs, seen) for o in present]
    out = converted[0] if len(converted) == 1 else _merged(converted)
    if nullable and "enum" not in out:  # see the module's docstring on enums
        out["nullable"] = True
    return out


def _merged(options: list[Schema]) -> Schema:
    kinds = {o.get("type") for o in options}
    if kinds == {"string"}:
        checks = [{k: o[k] for k in _VALUE_CHECKS if k in o} for o in options]
        unique = list({json.dumps(c, sort_keys=True): c for c in checks}.values())
        if len(unique) == 1:
            return {"type": "string", **unique[0]}
        if all(unique):  # each option checks something: a value must pass one of them
            return {"type": "string", "anyOf": unique}
        return {"type": "string"}
    return {FREE_FORM: True}  # no usable structural form (string-or-integer too: see above)
