"""The artifact mirror: ``ROOT/OS/VERSION/FILE``, for air-gapped installs.

The service serves only files found when the index was built: a request is a
dictionary lookup of three plain names, so no path a client sends ever reaches
the file system (no traversal, no symlink escape). ``import_artifacts`` fills
the mirror from a download directory, verifying each file against a
``SHA256SUMS``-style list (``HASH  NAME`` lines, as sha256sum writes them).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from strata.boot.checksums import published_digests
from strata.errors import StrataError
from strata.ignition import profile_for

__all__ = [
    "ArtifactImportError",
    "Asset",
    "AssetIndex",
    "asset_of",
    "import_artifacts",
    "import_named",
    "serve_asset",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_CHUNK = 1 << 20


class ArtifactImportError(StrataError):
    """An artifact could not be imported; says which file and why."""

    kind = "artifact-import"


@dataclass(frozen=True, slots=True)
class Asset:
    path: Path
    stat: os.stat_result  # taken when indexed: requests do not touch the disk for it
    etag: str  # RFC 9110 8.8.3 entity tag, strong: changes with the file's inode, size or mtime


class AssetIndex:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._assets: dict[tuple[str, str, str], Asset] = {}
        self.refresh()

    def refresh(self) -> None:
        found: dict[tuple[str, str, str], Asset] = {}
        if self.root.is_dir():
            for os_dir in self.root.iterdir():
                for version_dir in _dirs(os_dir):
                    for entry in version_dir.iterdir():
                        if entry.is_file() and not entry.is_symlink() and _NAME.match(entry.name):
                            key = (os_dir.name, version_dir.name, entry.name)
                            found[key] = asset_of(entry)
        self._assets = found

    def get(self, os_name: str, version: str, name: str) -> Asset | None:
        return self._assets.get((os_name, version, name))

    def __len__(self) -> int:
        return len(self._assets)


def asset_of(path: Path) -> Asset:
    """``path`` as the service serves it: its stat taken now, and a strong entity tag."""
    st = path.stat()
    tag = hashlib.sha256(f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}".encode()).hexdigest()[:32]
    return Asset(path, st, f'"{tag}"')


def _dirs(path: Path) -> list[Path]:
    if not path.is_dir() or path.is_symlink() or not _NAME.match(path.name):
        return []
    return [p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and _NAME.match(p.name)]


def import_artifacts(source: Path, root: Path, os_name: str, version: str) -> list[str]:
    """Copy the OS version's artifacts found in ``source`` into ``root/OS/VERSION``, each
    verified against a digest the OS project publishes beside it (``strata.boot.checksums``:
    SHA-256 or SHA-512); returns the names copied. The mirror's own ``SHA256SUMS`` lists
    every file once, however often it is imported. ``ArtifactImportError`` names the file and why;
    a file that fails leaves the mirror as it was."""
    expected = profile_for(os_name).artifacts.names(version)
    return import_named(source, root, os_name, version, list(expected.values()))


def import_named(
    source: Path, root: Path, directory: str, version: str, names: list[str]
) -> list[str]:
    """``import_artifacts`` for a given list of file ``names``, into ``root/DIRECTORY/VERSION``
    (``strata.boot.kube_artifacts`` imports the Kubernetes pieces through it)."""
    if not _NAME.match(version):
        raise ArtifactImportError(f"version {version!r} is not a plain name")
    try:
        published = published_digests(source)
    except ValueError as exc:
        raise ArtifactImportError(str(exc)) from None
    target = root / directory / version
    target.mkdir(parents=True, exist_ok=True)
    sums: dict[str, str] = {}
    for name in names:
        src = source / name
        if src.is_file():
            sums[name] = _verified_copy(src, published.get(name, {}), target / name)
    if not sums:
        raise ArtifactImportError(
            f"no {directory} {version} artifacts in {source} (looked for {', '.join(names)})"
        )
    _merge_listing(target / "SHA256SUMS", sums)
    return list(sums)


_LABEL = {"sha256": "SHA-256", "sha512": "SHA-512"}


def _verified_copy(src: Path, listed: dict[str, str], dest: Path) -> str:
    """Copy ``src`` to ``dest`` if it matches every digest ``listed``; its SHA-256."""
    if not listed:
        raise ArtifactImportError(
            f"{src.name}: no SHA-256 or SHA-512 digest for it in {src.parent} (SHA256SUMS, "
            "sha256sum.txt, Flatcar's NAME.DIGESTS, NAME.sha256, FCOS stream metadata)"
        )
    actual = _digests(src, {"sha256", *listed})
    for algorithm, digest in sorted(listed.items()):
        if actual[algorithm] != digest:
            raise ArtifactImportError(
                f"{src.name}: {_LABEL[algorithm]} {actual[algorithm]} does not match the "
                f"published {digest}"
            )
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.copyfile(src, partial)
    os.replace(partial, dest)
    return actual["sha256"]


def _merge_listing(listing: Path, sums: dict[str, str]) -> None:
    """``listing`` rewritten whole (atomically) with ``sums`` replacing earlier lines."""
    known = {}
    if listing.exists():
        for line in listing.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2:
                known[parts[1]] = parts[0]
    known.update(sums)
    partial = listing.with_name(f".{listing.name}.partial")
    partial.write_text("".join(f"{d}  {n}\n" for n, d in sorted(known.items())))
    os.replace(partial, listing)


def _digests(path: Path, algorithms: set[str]) -> dict[str, str]:
    hashes = {a: hashlib.new(a) for a in algorithms}
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            for h in hashes.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashes.items()}


def serve_asset(request: Request, found: Asset | None) -> Response:
    """A file of the mirror or the firmware, with ETag and Range; 404 when not indexed."""
    if found is None:
        return PlainTextResponse("not found\n", status_code=404)
    if found.etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={"etag": found.etag})
    return _Artifact(
        found.path,
        stat_result=found.stat,
        media_type="application/octet-stream",
        headers={"etag": found.etag},
    )


class _Artifact(FileResponse):
    """A file answer that reads 1 MiB at a time: Starlette's 64 KiB chunks cost a thread
    hop each, which caps a multi-gigabyte image well below what the network carries."""

    chunk_size = 1 << 20


def _tags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (RFC 9110 13.1.2); weak ones compare weakly."""
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
