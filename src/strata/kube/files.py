"""A file a node gets, as the Ignition builder will write it: path, contents, mode."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigFile"]


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """``mode`` is the permission bits (``0o600`` for anything holding a secret)."""

    path: str
    contents: str
    mode: int

    def __repr__(self) -> str:  # contents may hold a token: never in a log line
        return f"ConfigFile(path={self.path!r}, mode={oct(self.mode)}, {len(self.contents)} chars)"
