"""The checksums OS projects publish beside their downloads, read into one table.

- ``SHA256SUMS``, ``*CHECKSUM*``, RHCOS's ``sha256sum.txt``, k3s's ``sha256sum-amd64.txt``,
  ``SHA512SUMS``: ``HEX  NAME``
  lines as sha256sum(1) writes them (``*NAME`` in binary mode), or the BSD form
  ``SHA256 (NAME) = HEX`` (``sha256sum --tag``);
- Flatcar's ``NAME.DIGESTS``: ``# MD5 HASH`` / ``# SHA1 HASH`` / ``# SHA512 HASH``
  sections of ``HEX  NAME`` lines (only the SHA-512 ones are used: MD5 and SHA-1 are no
  integrity check);
- sidecars ``NAME.sha256`` / ``NAME.sha512``: a bare digest, or a ``HEX  NAME`` line;
- Fedora CoreOS stream metadata (``stable.json`` …): every object with a ``location``
  URL and a ``sha256`` names the file at the end of that URL
  (docs.fedoraproject.org/en-US/fedora-coreos/stream-metadata).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ALGORITHMS", "published_digests"]

ALGORITHMS = {64: "sha256", 128: "sha512"}  # hex length -> hashlib name
_LINE = re.compile(r"^([0-9a-fA-F]{64}|[0-9a-fA-F]{128})\s+\*?(\S+)\s*$")
_BSD = re.compile(r"^(SHA256|SHA512) \((.+)\) = ([0-9a-fA-F]+)\s*$")
_LISTINGS = ("*SHA256SUMS*", "*SHA512SUMS*", "*CHECKSUM*", "sha256sum*.txt", "*.DIGESTS")
_MAX_LISTING = 16 << 20  # bytes read of one checksum file


def published_digests(source: Path) -> dict[str, dict[str, str]]:
    """``{file name: {algorithm: hex digest}}`` from every checksum file in ``source``.

    Names are base names (a listing's ``./dir/name`` counts as ``name``); a file listed
    twice with different digests of one algorithm keeps neither (``ValueError``)."""
    found: dict[str, dict[str, str]] = {}
    for name, algorithm, digest in _entries(source):
        known = found.setdefault(Path(name).name, {})
        if known.get(algorithm, digest) != digest.lower():
            raise ValueError(f"{name}: two different {algorithm} digests in {source}")
        known[algorithm] = digest.lower()
    return found


def _entries(source: Path) -> Iterator[tuple[str, str, str]]:
    listings = sorted({p for pattern in _LISTINGS for p in source.glob(pattern) if p.is_file()})
    for listing in listings:
        yield from _lines(_read(listing), sha512_only=listing.name.endswith(".DIGESTS"))
    for sidecar in sorted(source.glob("*.sha256")) + sorted(source.glob("*.sha512")):
        text = _read(sidecar).strip()
        if re.fullmatch(r"[0-9a-fA-F]{64}|[0-9a-fA-F]{128}", text):
            yield sidecar.name.rsplit(".", 1)[0], ALGORITHMS[len(text)], text
        else:
            yield from _lines(text, sha512_only=False)
    for stream in sorted(source.glob("*.json")):
        try:
            yield from _stream(json.loads(_read(stream)))
        except ValueError:
            continue  # not stream metadata


def _lines(text: str, sha512_only: bool) -> Iterator[tuple[str, str, str]]:
    for line in text.splitlines():
        plain, bsd = _LINE.match(line), _BSD.match(line)
        if plain:
            digest, name = plain.groups()
        elif bsd:
            digest, name = bsd.group(3), bsd.group(2)
        else:
            continue
        algorithm = ALGORITHMS.get(len(digest))
        if algorithm is not None and (algorithm == "sha512" or not sha512_only):
            yield name, algorithm, digest


def _stream(data: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(data, dict):
        location, digest = data.get("location"), data.get("sha256")
        if isinstance(location, str) and isinstance(digest, str) and len(digest) == 64:
            yield location.rsplit("/", 1)[-1], "sha256", digest
        for value in data.values():
            yield from _stream(value)
    elif isinstance(data, list):
        for value in data:
            yield from _stream(value)


def _read(path: Path) -> str:
    with path.open("rb") as stream:
        return stream.read(_MAX_LISTING).decode(errors="replace")
