"""Read a YAML document into plain Python values plus an index of source positions.

ruamel.yaml's round-trip loader keeps the line and column of every key, value
and sequence item; we copy them into a flat index keyed by document path so the
rest of Strata works on plain dicts and lists (fast, picklable, typed) while
every finding can still be located.

Bounds: ruamel's composer counts the nodes (keys and values) it reads and stops past
``MAX_NODES`` (ruamel's round-trip objects cost most of a kilobyte a node: sixteen
megabytes of ``[1,1,1,…]`` would otherwise take gigabytes). Aliases are expanded, but
only after their expanded size is counted on ruamel's graph (each shared node once): a
document that would expand beyond ``MAX_NODES`` nodes (a "billion laughs"), that refers
to itself, or that nests deeper than ``MAX_DEPTH`` is refused before anything is copied.
A caller reading a smaller kind of file passes a lower ``max_nodes`` (an Ignition fragment:
``file_contents.MAX_FRAGMENT_NODES``).

Messages: a parser fault is reported by its kind and place, never with what the file holds
(``parse_errors``): the file may hold a secret.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import YAMLError

from strata.topology.diagnostics import Diagnostic, Path, PositionLookup, Severity
from strata.topology.parse_errors import StrictConstructor, yaml_fault

__all__ = ["MAX_DEPTH", "MAX_NODES", "Document", "SourceError", "parse_yaml"]

MAX_NODES = 2_000_000
"""YAML nodes (every mapping key and every value: mappings, lists, scalars) a document may
hold, as written and once its aliases are expanded; a 16 MiB topology of 60,000 servers
written one by one holds about 1,500,000."""
MAX_DEPTH = 64
"""Mappings and lists nested in one another; topology.yaml itself needs about 12."""


class SourceError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(diagnostic.render())


@dataclass
class Document(PositionLookup):
    """A parsed file: plain data and where each value (and mapping key) stands, 0-based."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """1-based line and column; falls back to the nearest located ancestor."""
        index = self.keys if key else self.values
        probe = tuple(path)
        while True:
            where = index.get(probe)
            if where is None and key:
                where = self.values.get(probe)
            if where is not None:
                return where[0] + 1, where[1] + 1
            if not probe:
                return 1, 1
            probe = probe[:-1]


def parse_yaml(text: str, file: str, max_nodes: int | None = None) -> Document:
    """``text`` as plain values with their positions; ``SourceError`` for what cannot be.

    ``max_nodes``: the keys and values it may hold, as written and expanded (default
    ``MAX_NODES``).
    """
    limit = MAX_NODES if max_nodes is None else max_nodes
    yaml = _Yaml(limit)
    try:
        raw = yaml.load(text)
    except _TooLarge as exc:
        raise SourceError(Diagnostic(Severity.ERROR, str(exc), (), file, 1, 1)) from None
    except (YAMLError, ValueError, RecursionError) as exc:
        problem, line, column = yaml_fault(exc, text)
        raise SourceError(
            Diagnostic(Severity.ERROR, f"YAML syntax: {problem}", (), file, line, column)
        ) from None
    try:
        _measure(raw, limit)
    except _TooLarge as exc:
        raise SourceError(Diagnostic(Severity.ERROR, str(exc), (), file, 1, 1)) from None
    doc = Document(file=file, data=None)
    doc.values[()] = (0, 0)
    doc.data = _Converter(doc).convert(raw, ())
    return doc


class _Yaml(YAML):
    """ruamel's round-trip loader with Strata's composer and constructor and a node limit."""

    def __init__(self, node_limit: int) -> None:
        super().__init__(typ="rt", pure=True)
        self.Composer = _BoundedComposer
        self.Constructor = StrictConstructor
        self.node_limit = node_limit


class _TooLarge(Exception):
    pass


class _BoundedComposer(Composer):
    """ruamel's composer, stopping past its loader's ``node_limit`` keys and values as it
    reads them; it does not warn about a reused anchor (the warning prints the lines)."""

    composed = 0

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader=loader)
        self.warn_double_anchors = False
        self.limit: int = getattr(loader, "node_limit", MAX_NODES)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.composed += 1
        if self.composed > self.limit:
            raise _TooLarge(f"the document holds more than {self.limit:,} keys and values")
        return super().compose_node(parent, index)


def _measure(root: Any, limit: int) -> None:
    """Count the nodes (keys and values) ``root`` expands to, and how deep it nests,
    without expanding it.

    Each node's size and height are memoised, so the walk costs the size of ruamel's
    graph, where an alias is one shared node, not the size of its expansion. Raises
    ``_TooLarge`` past ``limit`` nodes or ``MAX_DEPTH`` levels, or for a cycle.
    """
    known: dict[int, tuple[int, int]] = {}  # id -> (values, levels of nesting below)
    active: set[int] = set()

    def measure(node: Any) -> tuple[int, int]:
        if not isinstance(node, CommentedMap | CommentedSeq):
            return 1, 0
        seen = known.get(id(node))
        if seen is not None:
            return seen
        if id(node) in active:
            raise _TooLarge("the document refers to itself (a recursive alias)")
        if len(active) > MAX_DEPTH:
            raise _TooLarge(f"the document nests deeper than {MAX_DEPTH} levels")
        active.add(id(node))
        children = (node[k] for k in node) if isinstance(node, CommentedMap) else iter(node)
        values, height = 1 + (len(node) if isinstance(node, CommentedMap) else 0), 0  # keys
        for child in children:
            size, below = measure(child)
            values, height = values + size, max(height, below + 1)
            if values > limit:
                raise _TooLarge(f"the document expands to more than {limit:,} nodes (aliases?)")
            if height > MAX_DEPTH:
                raise _TooLarge(f"the document nests deeper than {MAX_DEPTH} levels")
        active.discard(id(node))
        known[id(node)] = values, height
        return values, height

    measure(root)


class _Converter:
    """Copies ruamel's round-trip objects into plain values; ``_measure`` bounded them."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def convert(self, node: Any, path: Path) -> Any:
        if isinstance(node, CommentedMap):
            return self._mapping(node, path)
        if isinstance(node, CommentedSeq):
            return self._sequence(node, path)
        return _scalar(node)

    def _mapping(self, node: CommentedMap, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in node:
            name = key if isinstance(key, str) else str(_scalar(key))
            child = (*path, name)
            try:
                self.doc.keys[child] = node.lc.key(key)
                self.doc.values[child] = node.lc.value(key)
            except (KeyError, TypeError, AttributeError):
                pass  # merged keys (<<) carry no position of their own
            out[name] = self.convert(node[key], child)
        return out

    def _sequence(self, node: CommentedSeq, path: Path) -> list[Any]:
        out: list[Any] = []
        for i, item in enumerate(node):
            child = (*path, i)
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                self.doc.values[child] = node.lc.item(i)  # positions of merged items are missing
            out.append(self.convert(item, child))
        return out


def _scalar(value: Any) -> Any:
    """Round-trip scalar subclasses -> plain Python values."""
    if isinstance(value, TaggedScalar):
        return str(value.value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
