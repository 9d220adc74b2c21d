"""Located findings about a topology file: what is wrong, where, and how to fix it.

Every finding names ``file:line:column`` and the path inside the document
(``regions[0].zones[1].racks[3].nodes[5].bmc``), so a person can jump to it
from an editor or a CI log. Messages never quote secret values.

Whatever a finding says comes out through ``printable``: a name read from the file (a
key, a file name, a fragment's name) may hold an escape sequence that recolours or
clears the terminal, a newline that forges a finding of its own, or a bidirectional
override that shows text in another order than it is (CVE-2021-42574, "Trojan Source").
Each such character is shown as its escape (``\x1b``, ``\n``, ``\u202e``).
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from strata.errors import StrataError

__all__ = [
    "MAX_FINDINGS",
    "Diagnostic",
    "Diagnostics",
    "Path",
    "Severity",
    "TopologyError",
    "format_path",
    "printable",
]

Path = tuple[str | int, ...]
PER_PLACE = 5
"""Findings kept at one place: a generator repeats its fault for every item it makes."""
MAX_FINDINGS = 1_000
"""Findings kept for one file; the rest are counted (``Diagnostics.omitted``), not kept."""


# C0 and C1 controls, DEL; zero-width and bidirectional formatting characters (Unicode
# TR9: LRM/RLM, ALM, LRE..RLO, LRI..PDI); line and paragraph separators; the BOM.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every control and formatting character shown as its escape."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    message: str
    path: Path
    file: str
    line: int  # 1-based; 0 when the finding has no place in the file
    column: int  # 1-based
    hint: str | None = None

    def __post_init__(self) -> None:
        """What the finding says, shown safely (see ``printable``)."""
        for name in ("message", "file"):
            object.__setattr__(self, name, printable(getattr(self, name)))
        if self.hint is not None:
            object.__setattr__(self, "hint", printable(self.hint))

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def render(self) -> str:
        text = f"{self.where}: {self.severity}: {format_path(self.path) or '<document>'}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_json(self) -> dict[str, object]:
        return {
            "severity": str(self.severity),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
            "message": self.message,
            "hint": self.hint,
        }


def format_path(path: Sequence[str | int]) -> str:
    """``("regions", 0, "name")`` -> ``regions[0].name``; keys shown with ``printable``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{printable(part)}" if out else printable(part))
    return "".join(out)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


class TopologyError(StrataError):
    """Raised when a topology file has errors; carries every finding of the file."""

    kind = "topology"
    hint = "run `strata validate -f FILE` for every finding with its place"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        first = errors[0].render() if errors else "invalid topology"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


@dataclass
class Diagnostics:
    """Collects findings; locates each one through the document's position index."""

    file: str
    positions: PositionLookup
    remap: Callable[[Path], Path] = lambda path: path  # from a repaired copy back to the file
    items: list[Diagnostic] = field(default_factory=list)
    seen: set[tuple[Path, str]] = field(default_factory=set)
    per_place: dict[Path, int] = field(default_factory=dict)
    omitted: dict[Severity, int] = field(default_factory=dict)  # past MAX_FINDINGS

    def error(
        self, path: Path, message: str, hint: str | None = None, *, key: bool = False
    ) -> None:
        self._add(Severity.ERROR, path, message, hint, key)

    def warning(self, path: Path, message: str, hint: str | None = None) -> None:
        self._add(Severity.WARNING, path, message, hint, False)

    def _add(
        self, severity: Severity, path: Path, message: str, hint: str | None, key: bool
    ) -> None:
        """Record a finding once; at most ``PER_PLACE`` at one place and ``MAX_FINDINGS`` in all."""
        path = self.remap(path)
        if (path, message) in self.seen or self.per_place.get(path, 0) >= PER_PLACE:
            return
        count = self.per_place[path] = self.per_place.get(path, 0) + 1
        if len(self.items) >= MAX_FINDINGS:
            self.omitted[severity] = self.omitted.get(severity, 0) + 1
            return
        self.seen.add((path, message))
        if count == PER_PLACE:
            message += " (further findings at this place are not shown)"
        line, column = self.positions.locate(path, key=key)
        self.items.append(Diagnostic(severity, message, path, self.file, line, column, hint))

    @property
    def has_errors(self) -> bool:
        return Severity.ERROR in self.omitted or any(
            d.severity is Severity.ERROR for d in self.items
        )

    @property
    def count(self) -> int:
        """Findings recorded, kept or not."""
        return len(self.items) + sum(self.omitted.values())

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.line, d.column, d.message))


class PositionLookup:
    """Interface of a position index: where a path's value (or key) stands in the file."""

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        raise NotImplementedError
