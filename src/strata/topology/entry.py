"""One entry's patterns: compiled once, rendered per generated item, faults located.

A fault raises ``EntryFault`` carrying the document path it belongs to; the caller
reports it once, at the entry, naming the generated item where it first appeared.
"""

from __future__ import annotations

from strata.topology.addresses import AddressError, parse_mac
from strata.topology.diagnostics import Path
from strata.topology.fields import check_dns_label
from strata.topology.templates import (
    MAX_PATTERN_LENGTH,
    Context,
    Pattern,
    PatternError,
    compile_pattern,
    has_placeholder,
)

__all__ = ["EntryFault", "Text", "checked_name", "in_item", "mac", "pattern", "render"]

Text = str | Pattern


class EntryFault(Exception):
    def __init__(self, path: Path, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.path, self.message, self.hint = path, message, hint


def pattern(text: str, path: Path) -> Text:
    """``text`` compiled when it holds placeholders. A field that generated entries
    render per item is at most ``MAX_PATTERN_LENGTH`` characters, pattern or not."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise EntryFault(path, f"longer than {MAX_PATTERN_LENGTH} characters ({len(text):,})")
    if not has_placeholder(text):
        return text
    try:
        return compile_pattern(text)
    except PatternError as exc:
        raise EntryFault(path, str(exc)) from None


def render(text: Text, ctx: Context, path: Path) -> str:
    if isinstance(text, str):
        return text
    try:
        return text.render(ctx)
    except PatternError as exc:
        raise EntryFault(path, str(exc)) from None


def checked_name(text: Text, ctx: Context, path: Path) -> str:
    name = render(text, ctx, path)
    try:
        return check_dns_label(name)
    except ValueError:
        raise EntryFault(
            path,
            f"'{name}' is not a valid name",
            "a DNS label: lowercase letters, digits and '-', at most 63 characters",
        ) from None


def mac(text: str, path: Path) -> str:
    try:
        return parse_mac(text)
    except AddressError as exc:
        raise EntryFault(path, str(exc)) from None


def in_item(message: str, gen: object, offset: int) -> str:
    return f"{message} (generated item #{offset + 1})" if gen is not None else message
