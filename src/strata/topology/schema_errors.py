"""Turn pydantic's validation errors into located findings a person can act on.

pydantic reports where a value failed as a tuple of keys; union members add
their own tags (``int``, ``list[str]``) that are not in the document, so the
path is re-walked against the data. Input values are never quoted: a literal
password must not be echoed back. pydantic's own messages name the rule, not the input,
but a validator's ``ValueError`` (pydantic's ``value_error``) says what it was given; a
message that holds the text it is about has that text cut out (``_without_input``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from strata.topology.diagnostics import Path, did_you_mean
from strata.topology.fields import SECRET_HINT

__all__ = ["SchemaFinding", "schema_findings"]

_MESSAGES = {
    "ip_v4_network": "not an IP network, e.g. 10.0.0.0/24 (host bits must be zero)",
    "ip_v6_network": "not an IP network, e.g. 10.0.0.0/24 (host bits must be zero)",
    "ip_v4_address": "not an IP address",
    "ip_v6_address": "not an IP address",
    "ip_any_address": "not an IP address",
    "missing": "required",
}
_HINTS = {"literal_secret": SECRET_HINT}
_TYPED = {"int_type": "a whole number", "float_type": "a number", "bool_type": "true or false"}
"""Strict types (no string to number or bool): the CRD's schema refuses them too."""


@dataclass(frozen=True, slots=True)
class SchemaFinding:
    path: Path
    message: str
    hint: str | None
    kind: str  # pydantic's error type
    key: bool  # locate the key (unknown keys) rather than the value


def schema_findings(
    model: type[BaseModel], data: Any, errors: list[ErrorDetails]
) -> list[SchemaFinding]:
    """One finding per document path; union alternatives are folded together."""
    grouped: dict[Path, list[tuple[ErrorDetails, Path]]] = {}
    for error in errors:
        path = _document_path(data, error["loc"], error["type"])
        grouped.setdefault(path, []).append((error, path))
    return [_finding(model, data, path, group) for path, group in grouped.items()]


def _finding(
    model: type[BaseModel], data: Any, path: Path, group: list[tuple[ErrorDetails, Path]]
) -> SchemaFinding:
    error = group[0][0]
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(path[-1])
        keys = _keys_at(model, path[:-1])
        hint = (
            f"keys are camelCase: write '{keys[name]}'"
            if keys.get(name, name) != name
            else did_you_mean(name, list(keys.values()))
        )
        return SchemaFinding(path, f"unknown key '{name}'", hint, kind, True)
    if kind == "missing":
        return SchemaFinding(path, f"'{path[-1]}' is required", None, kind, False)
    messages = list(dict.fromkeys(_message(e) for e, _ in group))
    hint = _HINTS.get(kind)
    value = _value_at(data, path)
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        hint = 'write it in quotes, e.g. "1.30": YAML reads 1.30 as the number 1.3'
    if kind in _TYPED and isinstance(value, str):
        hint = f"write {_TYPED[kind]} without quotes: a quoted value is a string, which the API server refuses here"
    elif kind == "bool_type":
        hint = "write true or false"
    if kind == "literal_error" and isinstance(value, str):
        expected = str(error.get("ctx", {}).get("expected", ""))
        hint = did_you_mean(
            value, [w.strip(" '") for w in expected.replace(" or ", ",").split(",")]
        )
    return SchemaFinding(path, " or ".join(messages), hint, kind, False)


def _message(error: ErrorDetails) -> str:
    text = _without_input(_MESSAGES.get(error["type"], error["msg"]), error.get("input"))
    return text[0].lower() + text[1:] if text else text


def _without_input(text: str, value: Any) -> str:
    """``text`` with the string ``value`` (when it is four characters or more) shown as …"""
    if isinstance(value, str) and len(value) >= 4 and value in text:
        return text.replace(value, "…")
    return text


def _document_path(data: Any, loc: tuple[int | str, ...], kind: str) -> Path:
    """Keep the parts of ``loc`` that exist in ``data``; drop union tags."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if _has(node, part):
            node = node[part]
            path.append(part)
        elif last and kind in ("missing", "extra_forbidden") and isinstance(part, str):
            path.append(part)
    return tuple(path)


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _value_at(data: Any, path: Path) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _keys_at(model: type[BaseModel], path: Path) -> dict[str, str]:
    """The keys a mapping at ``path`` may hold (field name -> key, its alias), by walking
    the model's fields."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            current = _element(current)
            continue
        found = _submodel(current)
        if found is None:
            return {}
        field = next((f for n, f in found.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return {}
        current = field.annotation
    found = _submodel(current)
    if found is None:
        return {}
    return {n: f.alias or n for n, f in found.model_fields.items()}


def _members(tp: Any) -> Iterator[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _members(arg)
    elif origin is typing.Annotated:
        yield from _members(typing.get_args(tp)[0])
    else:
        yield tp


def _submodel(tp: Any) -> type[BaseModel] | None:
    for member in _members(tp):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _element(tp: Any) -> Any:
    for member in _members(tp):
        if typing.get_origin(member) is list:
            return typing.get_args(member)[0]
    return None
