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

from strata.ignition import profile_for

__all__ = ["Asset", "AssetIndex", "ImportError_", "asset_of", "import_artifacts"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_CHUNK = 1 << 20


class ImportError_(Exception):
    """An artifact could not be imported; says which file and why."""


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
    """Copy the OS version's artifacts found in ``source`` into the mirror; returns their names."""
    if not _NAME.match(version):
        raise ImportError_(f"version {version!r} is not a plain name")
    expected = profile_for(os_name).artifacts.names(version)
    sums = _checksums(source)
    target = root / os_name / version
    target.mkdir(parents=True, exist_ok=True)
    imported: list[str] = []
    for name in expected.values():
        src = source / name
        if not src.is_file():
            continue
        if name not in sums:
            raise ImportError_(f"{name}: no SHA-256 sum for it in {source}")
        digest = _sha256(src)
        if digest != sums[name]:
            raise ImportError_(f"{name}: SHA-256 {digest} does not match the listed {sums[name]}")
        partial = target / f".{name}.partial"
        shutil.copyfile(src, partial)
        os.replace(partial, target / name)
        imported.append(name)
    if not imported:
        raise ImportError_(
            f"no {os_name} {version} artifacts in {source} (looked for {', '.join(expected.values())})"
        )
    with (target / "SHA256SUMS").open("a") as listing:
        listing.writelines(f"{sums[name]}  {name}\n" for name in imported)
    return imported


def _checksums(source: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    for listing in sorted(source.glob("*SHA256SUMS*")) + sorted(source.glob("*CHECKSUM*")):
        for line in listing.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
                sums[parts[1].lstrip("*")] = parts[0]
    return sums


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
