"""Generator patterns: ``{index}``, ``{rack}``, ``{ip:BASE}``, ``{mac:BASE}``.

A generated entry's strings are patterns rendered once per generated item:

- ``{index}`` / ``{index:03}``: the node's number (from ``generate.start``), zero-padded;
- ``{rack}`` / ``{rack:02}``: the number of the generated rack the node sits in;
- ``{ip:10.0.1.10}``: the base address plus the item's offset (0 for the first);
- ``{mac:52:54:00:00:01:00}``: the base MAC plus the item's offset.

The offset of a node generated inside a generated rack runs on across racks
(``rack_offset * count + node_offset``), so one pattern gives unique addresses
for a whole row. ``{{`` and ``}}`` stand for literal braces.

Bounds, so that a generator of a million items renders a million short strings:
a patterned field holds at most ``MAX_PATTERN_LENGTH`` characters and a width at
most ``MAX_PATTERN_WIDTH`` digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

__all__ = [
    "MAX_PATTERN_LENGTH",
    "MAX_PATTERN_WIDTH",
    "Context",
    "Pattern",
    "PatternError",
    "compile_pattern",
    "has_placeholder",
]

MAX_PATTERN_LENGTH = 255
"""Characters in a field generated entries render per item (a name, an address)."""
MAX_PATTERN_WIDTH = 20
"""Digits of ``{index:NN}`` / ``{rack:NN}``: enough for any 64-bit number."""

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


class PatternError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Context:
    """The numbers a pattern is rendered with."""

    index: int | None  # the node's number, when the node is generated
    rack: int | None  # the rack's number, when the rack is generated
    offset: int  # 0-based position of the item in its generated run


def has_placeholder(text: str) -> bool:
    return "{" in text or "}" in text


class Pattern:
    """A compiled pattern: literal text and placeholders, rendered per item."""

    __slots__ = ("parts", "source")

    def __init__(self, source: str, parts: list[str | _Placeholder]) -> None:
        self.source = source
        self.parts = parts

    def render(self, ctx: Context) -> str:
        return "".join(p if isinstance(p, str) else p.render(ctx) for p in self.parts)


@dataclass(frozen=True, slots=True)
class _Placeholder:
    kind: str
    width: int
    base: int  # numeric base of an ip or mac
    ip_version: int

    def render(self, ctx: Context) -> str:
        if self.kind == "index" or self.kind == "rack":
            value = ctx.index if self.kind == "index" else ctx.rack
            if value is None:
                where = "a generated node" if self.kind == "index" else "a generated rack"
                raise PatternError(f"{{{self.kind}}} is only available in {where}")
            return str(value).zfill(self.width)
        number = self.base + ctx.offset
        if self.kind == "ip":
            try:
                return str(IPv4Address(number) if self.ip_version == 4 else IPv6Address(number))
            except ValueError:
                raise PatternError("{ip:…} runs past the last address") from None
        if number >= 1 << 48:
            raise PatternError("{mac:…} runs past ff:ff:ff:ff:ff:ff")
        raw = f"{number:012x}"
        return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def compile_pattern(source: str) -> Pattern:
    parts: list[str | _Placeholder] = []
    last = 0
    for match in _TOKEN.finditer(source):
        parts.append(source[last : match.start()])
        last = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        else:
            parts.append(_placeholder(match.group(1)))
    tail = source[last:]
    if "{" in tail or "}" in tail:
        raise PatternError("unbalanced '{' or '}' (write {{ or }} for a literal brace)")
    parts.append(tail)
    return Pattern(source, [p for p in parts if p != ""])


def _placeholder(body: str) -> _Placeholder:
    kind, _, arg = body.partition(":")
    if kind in ("index", "rack"):
        if arg and not (arg.isascii() and arg.isdigit()):
            raise PatternError(f"{{{kind}:{arg}}}: the width must be digits, e.g. {{{kind}:03}}")
        width = int(arg or 0) if len(arg) <= 6 else MAX_PATTERN_WIDTH + 1
        if width > MAX_PATTERN_WIDTH:
            raise PatternError(f"{{{kind}:{arg}}}: the width is at most {MAX_PATTERN_WIDTH}")
        return _Placeholder(kind, width, 0, 0)
    if kind == "ip":
        try:
            base = ip_address(arg)
        except ValueError:
            raise PatternError(f"{{ip:{arg}}}: '{arg}' is not an IP address") from None
        return _Placeholder("ip", 0, int(base), base.version)
    if kind == "mac":
        if not _MAC.match(arg):
            raise PatternError(f"{{mac:{arg}}}: '{arg}' is not a MAC address")
        return _Placeholder("mac", 0, int(arg.replace(":", "").replace("-", ""), 16), 0)
    raise PatternError(f"unknown placeholder {{{body}}}; known: index, rack, ip, mac")
