"""The root of every error Strata raises for a person to act on (Ironic's
``exception.py`` has one such root too).

Each class says what it is (``kind``: a stable name programs can match), what to do
(``hint``), and how a command ends on it (``exit_code``: 1 for a fault of the work, 2
for a refusal before anything was done: a bad state file, a held lease, a URL machines
cannot reach, missing artifacts). ``as_json`` is what ``-o json`` prints. The CLI has one
boundary that turns any of them into one line (and a hint) on stderr, never a traceback.
"""

from __future__ import annotations

__all__ = ["StrataError"]


class StrataError(Exception):
    kind = "error"
    exit_code = 1
    hint: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "message": str(self), "hint": self.hint}
