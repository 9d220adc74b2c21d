"""What each kind of named file must hold, checked the same way at validate and at use.

The bytes come from ``named_files`` (bounded, regular, inside the allowed directories);
these functions decide whether they are a password, an Ignition fragment or a CA
bundle. Errors are ``NamedFileError`` and never quote what the file holds: a parser's
fault is its kind and place alone (``parse_errors``).

A fragment is read with the bounds topology.yaml is read with, scaled to its size: at most
``MAX_FRAGMENT_NODES`` keys and values (YAML: counted as ruamel composes them and once
aliases are expanded; JSON: once parsed, before anything walks them), ``MAX_DEPTH``
levels. Every later check of a fragment (Ignition's schema, per OS release) costs what its
nodes do, so this bounds them all (docs/topology.md, "Limits").
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any, NoReturn

from strata.topology.named_files import (
    CA_BUNDLE,
    CREDENTIALS,
    IGNITION_FRAGMENT,
    TOPOLOGY,
    NamedFileError,
)
from strata.topology.parse_errors import json_fault
from strata.topology.source import MAX_DEPTH, MAX_NODES, Document, SourceError, parse_yaml

__all__ = [
    "MAX_FRAGMENT_NODES",
    "Fragment",
    "check_ca_bundle",
    "parse_fragment",
    "password_from",
]

MAX_FRAGMENT_NODES = MAX_NODES * IGNITION_FRAGMENT.max_bytes // TOPOLOGY.max_bytes
"""Keys and values an Ignition fragment may hold: topology.yaml's ``MAX_NODES`` scaled by
the fragment's size limit to the topology's (31,250 for 256 KiB)."""

_JSON_SUFFIXES = (".ign", ".json")


@dataclass(frozen=True, slots=True)
class Fragment:
    """A fragment file's mapping, and where its values stand when it was YAML."""

    data: dict[str, Any]
    positions: Document | None  # None for JSON: json keeps no positions

    def where(self, name: str, path: tuple[str | int, ...]) -> str:
        """``name:line:column`` of ``path`` inside the fragment, or ``name`` alone."""
        if self.positions is None:
            return name
        line, column = self.positions.locate(path)
        return f"{name}:{line}:{column}"


def password_from(data: bytes, name: str) -> str:
    """The password a credentials file holds: one line, a trailing newline allowed.

    Raises ``NamedFileError`` for an empty file, more than one line, or bytes that are
    not UTF-8.
    """
    text = _text(data, name, CREDENTIALS.what)
    line = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if "\n" in line or "\r" in line:
        raise NamedFileError(
            f"{CREDENTIALS.what} '{name}' holds more than one line",
            "it holds the password alone, on one line",
        )
    if not line:
        raise NamedFileError(f"{CREDENTIALS.what} '{name}' is empty")
    return line


def parse_fragment(data: bytes, name: str) -> Fragment:
    """An Ignition fragment file as a mapping: JSON for ``.ign``/``.json``, YAML otherwise.

    YAML goes through the topology's own parser with its bounds on nodes, aliases and
    nesting, the node limit ``MAX_FRAGMENT_NODES``; JSON gets the same bounds. Raises
    ``NamedFileError``.
    """
    text = _text(data, name, IGNITION_FRAGMENT.what)
    positions: Document | None = None
    what = IGNITION_FRAGMENT.what
    if name.endswith(_JSON_SUFFIXES):
        try:
            value: Any = json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            problem, line, column = json_fault(exc)
            raise NamedFileError(f"{what} {name}:{line}:{column}: not JSON: {problem}") from None
        except RecursionError:
            _too_deep(name)
        _measure_json(value, name)
    else:
        try:
            positions = parse_yaml(text, name, MAX_FRAGMENT_NODES)
        except SourceError as exc:
            d = exc.diagnostic
            raise NamedFileError(f"{what} {name}:{d.line}:{d.column}: {d.message}") from None
        value = positions.data
    if not isinstance(value, dict):
        raise NamedFileError(f"{what} '{name}' must hold a mapping (an Ignition config)")
    return Fragment(value, positions)


def check_ca_bundle(data: bytes, name: str) -> None:
    """Raise ``NamedFileError`` unless ``data`` holds PEM certificates OpenSSL can load."""
    text = _text(data, name, CA_BUNDLE.what)
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise NamedFileError(f"{CA_BUNDLE.what} '{name}' holds no PEM certificate")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError):
        raise NamedFileError(
            f"{CA_BUNDLE.what} '{name}' holds a certificate OpenSSL cannot read"
        ) from None


def _text(data: bytes, name: str, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NamedFileError(f"{what} '{name}' is not UTF-8 text (byte {exc.start})") from None


def _no_constant(word: str) -> Any:
    raise ValueError(word)  # NaN, Infinity: Python reads them, JSON and Ignition do not


def _measure_json(value: Any, name: str) -> None:
    """Refuse a JSON value past ``MAX_FRAGMENT_NODES`` keys and values or ``MAX_DEPTH``
    levels, counted without recursion."""
    nodes, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if isinstance(item, dict | list):
            if depth + 1 > MAX_DEPTH:
                _too_deep(name)
            children = item.values() if isinstance(item, dict) else item
            nodes += len(item) if isinstance(item, dict) else 0  # the keys
            stack.extend((child, depth + 1) for child in children)
        if nodes > MAX_FRAGMENT_NODES:
            raise NamedFileError(
                f"{IGNITION_FRAGMENT.what} '{name}' holds more than "
                f"{MAX_FRAGMENT_NODES:,} keys and values"
            )


def _too_deep(name: str) -> NoReturn:
    raise NamedFileError(
        f"{IGNITION_FRAGMENT.what} '{name}' nests deeper than {MAX_DEPTH} levels"
    ) from None
