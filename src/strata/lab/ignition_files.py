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

import json
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strata.errors import StrataError

__all__ = ["IgnitionFiles", "IgnitionFilesError", "read_files"]

MAX_FILE = 16 * 1024 * 1024  # bytes, a file unpacked: Strata's largest is tens of KB


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
    ``IgnitionFilesError`` for what is not an Ignition config, naming the file whose
    contents cannot be decoded or would be larger than ``MAX_FILE`` bytes; a config
    nests one level at most (a live config holding its install's)."""
    try:
        document = json.loads(config)
    except (ValueError, RecursionError) as err:
        raise IgnitionFilesError(f"not an Ignition config: {err}") from None
    return _files_of(document, nest=True)


def _files_of(document: object, *, nest: bool) -> IgnitionFiles:
    try:
        entries = _entries(document)
    except ValueError as err:
        raise IgnitionFilesError(f"not an Ignition config: {err}") from None
    inline: dict[str, bytes] = {}
    remote: dict[str, str] = {}
    for path, source, compression in entries:
        if source.startswith("data:"):
            inline[path] = _decode(path, source, compression)
        elif source:
            remote[path] = source
    for data in list(inline.values()) if nest else ():
        nested = _as_config(data)
        if nested is not None:
            files = _files_of(nested, nest=False)
            inline |= files.inline
            remote |= files.remote
    return IgnitionFiles(inline, remote)


def _entries(document: object) -> list[tuple[str, str, object]]:
    """(path, source, compression) of each ``storage.files`` entry; ``ValueError`` for
    a document not shaped as Ignition's."""
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    storage = document.get("storage")
    files = (storage or {}).get("files") if isinstance(storage or {}, dict) else None
    if not isinstance(files or [], list):
        raise ValueError("storage.files is not a list")
    found = []
    for entry in files or []:
        contents = entry.get("contents") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(contents or {}, dict):
            raise ValueError("a storage.files entry is not an object with object contents")
        contents = contents or {}
        source = contents.get("source") or ""
        found.append((str(entry.get("path", "")), str(source), contents.get("compression")))
    return found


def _as_config(data: bytes) -> dict[str, Any] | None:
    """``data`` parsed, if it is an Ignition config (a JSON object naming its version)."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if isinstance(document, dict) and "version" in (document.get("ignition") or {}):
        return document
    return None


def _decode(path: str, source: str, compression: object) -> bytes:
    try:
        with urllib.request.urlopen(source) as data:
            raw: bytes = data.read()
        if compression != "gzip":
            return raw
        unpacker = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # gzip (RFC 1952)
        out = unpacker.decompress(raw, MAX_FILE + 1)
    except (ValueError, OSError, zlib.error) as err:
        raise IgnitionFilesError(f"{path}: its contents cannot be read: {err}") from None
    if len(out) > MAX_FILE:
        raise IgnitionFilesError(f"{path}: larger than {MAX_FILE} bytes unpacked")
    return out
