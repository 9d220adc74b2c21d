"""What a YAML or JSON parser says about a file, reduced to what may be shown: the kind of
fault and its place (line, column, a key's name at most), never a value.

A file Strata reads may hold a secret — a password hash in an Ignition fragment, a
password pasted into topology.yaml by mistake — and docs/topology.md ("Files the topology
names") promises that validate never shows what a file holds. The parsers quote what they
read: ruamel.yaml reports a duplicate key with both of its values (``found duplicate key
"passwordHash" with value "$6$…" (original value: "$6$…")``, ruamel ``constructor.py``
``check_mapping_key``), an undefined alias with its name, a bad timestamp with its text, a
character it cannot scan with the character, and its warnings (a reused anchor, a YAML 1.1
float) print the offending line; Python's pure-Python JSON scanner quotes a bad escape.

So no parser message is passed on. ``yaml_fault`` and ``json_fault`` map each one to a
fixed phrase from the tables below, or, for a message they do not know, to the parser
stage that raised it; ``StrictConstructor`` reports a duplicate key by its name alone,
and the warnings that print source lines are not raised at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.reader import ReaderError

__all__ = ["DuplicateKey", "StrictConstructor", "json_fault", "yaml_fault"]

_KEY_SHOWN = 64
"""Characters of a duplicate key's name shown; a longer name is cut."""

# ruamel.yaml's problems (scanner.py, parser.py, composer.py, constructor.py) -> what is
# shown. A pattern matches the whole problem; what it matches beyond ruamel's own words
# (a character, an alias, a tag, a value) is never shown. The parser's token names
# ('<block end>', ',', ']') are its own vocabulary, not the file's, and are kept.
_TOKEN = r"'(?:<[a-z ]+>|[\[\]{},?:\-])'"
_EXPECTED = r"(the node content|<block end>|',' or '\]'|',' or '\}'|'<document start>')"
_YAML_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), phrase)
    for pattern, phrase in (
        (r"could not find expected ':'", "could not find expected ':'"),
        (r"mapping values are not allowed here", "mapping values are not allowed here"),
        (r"sequence entries are not allowed here", "sequence entries are not allowed here"),
        (
            r"found character .* that cannot start any token",
            "a character that cannot start any token",
        ),
        (r"found unknown escape character .*", "an unknown escape sequence in a quoted string"),
        (
            r"expected escape sequence of (\d+) hexdecimal numbers, but found .*",
            r"an escape sequence needs \1 hexadecimal digits",
        ),
        (r"found unexpected end of stream", "the file ends inside a quoted string"),
        (r"found unexpected document separator", "a document separator inside a quoted string"),
        (r"found unexpected ':'", "an unexpected ':' (quote the value)"),
        (
            r"expected (alphabetic or numeric character|a digit or '\.'|a digit|' '|a comment or a line break|'>'|chomping or indentation indicators|'!'|URI|URI escape sequence of 2 hexdecimal numbers),? but found .*",
            r"expected \1",
        ),
        (
            r"expected indentation indicator in the range 1-9, but found 0",
            "expected an indentation indicator in the range 1-9",
        ),
        (rf"expected {_EXPECTED},? but (?:found|got) ({_TOKEN})", r"expected \1, but found \2"),
        (rf"expected {_EXPECTED},? but (?:found|got) .*", r"expected \1"),
        (
            r"found non-comment content after document end marker.*",
            "content after the document end marker",
        ),
        (
            r"found incompatible YAML document \(version 1\.\* is required\)",
            "an incompatible YAML version (1.x is required)",
        ),
        (r"found undefined tag handle .*", "an undefined tag handle"),
        (r"found undefined alias .*", "an alias to no anchor"),
        (r"but found another document", "a second document (a file holds one)"),
        (
            r"expected a (scalar|sequence|mapping) node, but found (scalar|sequence|mapping)",
            r"expected a \1, but found a \2",
        ),
        (r"found unhashable key", "a key that is a mapping or a list"),
        (
            r"expected a mapping (?:or list of mappings )?for merging, but found .*",
            "a merge key ('<<') that is not a mapping or a list of mappings",
        ),
        (r"failed to construct timestamp from .*", "not a valid timestamp"),
        (r"failed to (?:decode|convert) base64 data.*", "not valid base64 (!!binary)"),
        (r"could not determine a constructor for the tag .*", "a tag Strata does not read"),
        (r"maximum depth of data structure exceeded.*", "nested too deeply"),
    )
)
_STAGES = {
    "ScannerError": "malformed YAML",
    "ParserError": "malformed YAML structure",
    "ComposerError": "malformed YAML document",
    "ConstructorError": "a YAML value that cannot be read",
    "MaxDepthExceededError": "nested too deeply",
}

# Python's JSON decoder (json/decoder.py, Modules/_json.c) -> what is shown.
_JSON_PHRASES = (
    ("Expecting value", "expecting a value"),
    ("Expecting property name enclosed in double quotes", "expecting a key in double quotes"),
    ("Expecting ':' delimiter", "expecting ':'"),
    ("Expecting ',' delimiter", "expecting ','"),
    ("Unterminated string starting at", "a string that does not end"),
    ("Invalid control character", "a control character inside a string"),
    ("Invalid \\uXXXX escape", "an invalid \\uXXXX escape"),
    ("Invalid \\escape", "an invalid escape sequence"),
    ("Extra data", "more after the value"),
    ("Illegal trailing comma", "a trailing comma"),
)


class DuplicateKey(MarkedYAMLError):
    """A mapping holds a key twice; ``key`` is its name when it is text."""

    def __init__(self, key: str | None, mark: Any) -> None:
        super().__init__(problem="duplicate key", problem_mark=mark)
        self.key = key


class StrictConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor, whose faults and warnings quote no value."""

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        if key in mapping:
            raise DuplicateKey(key if isinstance(key, str) else None, key_node.start_mark)
        return True

    def check_set_key(self, node: Any, key_node: Any, setting: Any, key: Any) -> None:
        if key in setting:
            raise DuplicateKey(key if isinstance(key, str) else None, key_node.start_mark)

    def construct_yaml_float(self, node: Any) -> Any:
        """A YAML 1.1 float without a dot in its mantissa (``1e3``) as ruamel reads it,
        without ruamel's ``MantissaNoDotYAML1_1Warning``, which prints the line."""
        text = str(self.construct_scalar(node)).replace("_", "").lower()
        mantissa = text.lstrip("+-").partition("e")[0]
        if self.resolver.processing_version != (1, 2) and "e" in text and "." not in mantissa:
            return float(text)
        return super().construct_yaml_float(node)


StrictConstructor.add_default_constructor("float")


def yaml_fault(exc: BaseException, text: str) -> tuple[str, int, int]:
    """What ruamel's ``exc`` may say about ``text``: a phrase, and the 1-based line and
    column it names (1, 1 when it names none)."""
    if isinstance(exc, DuplicateKey):
        line, column = _mark(exc)
        if exc.key is None:
            return "a key written twice in one mapping", line, column
        key = exc.key if len(exc.key) <= _KEY_SHOWN else exc.key[:_KEY_SHOWN] + "…"
        return f"the key '{key}' is written twice in one mapping", line, column
    if isinstance(exc, MarkedYAMLError):
        line, column = _mark(exc)
        problem = str(exc.problem or "")
        for pattern, phrase in _YAML_PHRASES:
            found = pattern.fullmatch(problem.strip())
            if found:
                return found.expand(phrase), line, column
        return _STAGES.get(type(exc).__name__, "malformed YAML"), line, column
    if isinstance(exc, ReaderError):
        return "a control character YAML does not allow", *_place(text, exc.position)
    return f"a YAML value that cannot be read ({type(exc).__name__})", 1, 1


def json_fault(exc: ValueError) -> tuple[str, int, int]:
    """What Python's JSON decoder may say: a phrase, and the 1-based line and column of a
    ``JSONDecodeError`` (1, 1 for what ``json.loads`` raises beyond it: a number too long
    to read, or NaN and Infinity when the caller refuses them)."""
    if not isinstance(exc, json.JSONDecodeError):
        return "a value Strata does not read (NaN, Infinity or a huge number)", 1, 1
    phrase = next((shown for said, shown in _JSON_PHRASES if exc.msg.startswith(said)), "")
    return phrase or "malformed JSON", exc.lineno, exc.colno


def _mark(exc: MarkedYAMLError) -> tuple[int, int]:
    mark = exc.problem_mark or exc.context_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _place(text: str, position: Any) -> tuple[int, int]:
    """1-based line and column of character ``position`` of ``text``."""
    if not isinstance(position, int) or not 0 <= position <= len(text):
        return 1, 1
    return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)
