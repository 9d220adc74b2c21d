"""What an Ignition config would write on a machine: its files, read back from the
config the machine fetched (Ignition spec v3: ``storage.files[].contents.source`` and
``compression``; https://coreos.github.io/ignition/configuration-v3_4/).

Only inline contents are read: ``data:`` URLs (RFC 2397, as Ignition accepts them),
gzip-compressed or not. Files fetched from elsewhere (``http(s)://``, e.g. the
Kubernetes system extension) are listed by path with their source, not fetched.

A live config that installs the OS carries the installed system's config as one of its
files (Flatcar's ``flatcar-install -i``, ``coreos-installer --ignition-file``): an
inline file that is itself an Ignition config has its files read too, and they win
over the live system's (they are what the installed machine runs with).
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from strata.errors import StrataError

__all__ = ["IgnitionFiles", "IgnitionFilesError", "read_files"]


class IgnitionFilesError(StrataError):
    """A config that is not Ignition JSON, or a file whose contents cannot be read."""

    kind = "lab-ignition"


@dataclass(frozen=True)
class IgnitionFiles:
    """A config's files: ``inline`` contents by absolute path, ``remote`` source URLs
    by path."""

    inline: Mapping[str, bytes]
    remote: Mapping[str, str]

    def text(self, path: str) -> str | None:
        data = self.inline.get(path)
        return None if data is None else data.decode()

    def under(self, directory: str) -> dict[str, bytes]:
        """Inline files below ``directory``, by path relative to it."""
        prefix = directory.rstrip("/") + "/"
        return {p[len(prefix) :]: d for p, d in self.inline.items() if p.startswith(prefix)}


def read_files(config: bytes) -> IgnitionFiles:
    """Parses an Ignition config (bytes of JSON) into its files. Raises
    ``IgnitionFilesError`` naming the file whose contents cannot be decoded."""
    try:
        document = json.loads(config)
        entries = (document.get("storage") or {}).get("files") or []
    except (ValueError, AttributeError) as err:
        raise IgnitionFilesError(f"not an Ignition config: {err}") from None
    inline: dict[str, bytes] = {}
    remote: dict[str, str] = {}
    for entry in entries:
        path = str(entry.get("path", ""))
        contents = entry.get("contents") or {}
        source = str(contents.get("source") or "")
        if source.startswith("data:"):
            inline[path] = _decode(path, source, contents.get("compression"))
        elif source:
            remote[path] = source
    for data in list(inline.values()):
        if _is_config(data):
            nested = read_files(data)
            inline |= nested.inline
            remote |= nested.remote
    return IgnitionFiles(inline, remote)


def _is_config(data: bytes) -> bool:
    if not data.lstrip().startswith(b"{"):
        return False
    try:
        document = json.loads(data)
    except ValueError:
        return False
    return isinstance(document, dict) and "version" in (document.get("ignition") or {})


def _decode(path: str, source: str, compression: object) -> bytes:
    try:
        with urllib.request.urlopen(source) as data:
            raw: bytes = data.read()
        return gzip.decompress(raw) if compression == "gzip" else raw
    except (ValueError, OSError) as err:
        raise IgnitionFilesError(f"{path}: its contents cannot be read: {err}") from None
