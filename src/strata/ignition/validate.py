"""What Ignition checks beyond its JSON schema (Ignition's config validation, "report").

The schema checks structure and types; Ignition's Go types then refuse more
(coreos/ignition ``config/v3_*/types/*.go``, the ``Validate`` methods, and
``config/shared/errors``): relative paths, an entry configured twice, a unit name
without a unit type, a drop-in not ending in ``.conf``, a file mode past ``07777``,
a filesystem format it cannot make, a link without a target, a URL scheme, hash
function or compression it cannot fetch with, a kernel argument both required and
forbidden. Each rule is a row of a table below. ``semantic_problems`` says where
(a document path) and what, without quoting a value that could be a secret (a
URL, a hash); names and paths of the config are quoted, as Ignition quotes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from strata.ignition.config import Config
from strata.topology.diagnostics import format_path

__all__ = ["Problem", "semantic_errors", "semantic_problems"]

Problem = tuple[tuple[str | int, ...], str]
"""Where inside the config (a document path), and what is wrong there."""

# systemd.unit(5): the unit types a unit file name may end in.
_UNIT = re.compile(
    r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$"
)
# Lists whose entries Ignition identifies by a key, which must be unique (config/merge, "keys").
_UNIQUE = (
    ("storage", "disks", "device"),
    ("storage", "filesystems", "device"),
    ("storage", "raid", "name"),
    ("storage", "luks", "name"),
    ("systemd", "units", "name"),
    ("passwd", "users", "name"),
    ("passwd", "groups", "name"),
)
# Fields that hold a path on the machine: (section, list, field).
_ABSOLUTE = (
    ("storage", "disks", "device"),
    ("storage", "filesystems", "device"),
    ("storage", "filesystems", "path"),
    ("storage", "luks", "device"),
)
_FORMATS = {"ext4", "btrfs", "xfs", "vfat", "swap", "none", ""}  # types/filesystem.go
_SCHEMES = {"http", "https", "tftp", "s3", "gs", "arn", "data", ""}  # types/url.go
_HASHES = ("sha512-", "sha256-")  # types/verification.go
_COMPRESSIONS = {"", "gzip"}  # types/resource.go
_MAX_MODE = 0o7777  # types/mode.go: "illegal file mode"


def semantic_problems(config: Config) -> list[Problem]:
    """Every problem Ignition would report that its schema does not catch."""
    return [
        *_storage_paths(config),
        *_unique_keys(config),
        *_absolute_fields(config),
        *_storage_entries(config),
        *_units(config),
        *_kernel_arguments(config),
    ]


def semantic_errors(config: Config) -> list[str]:
    """``semantic_problems`` as lines: ``storage.files: path '/x' is configured twice``."""
    return [f"{format_path(path)}: {message}" for path, message in semantic_problems(config)]


def _entries(config: Config, section: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = config.get(section, {}).get(name) or []
    return ((i, entry) for i, entry in enumerate(items) if isinstance(entry, dict))


def _storage_paths(config: Config) -> Iterator[Problem]:
    """Files, directories and links: absolute paths, each configured once across the three."""
    seen: set[str] = set()
    for kind in ("files", "directories", "links"):
        for i, entry in _entries(config, "storage", kind):
            path = entry.get("path") or ""
            if not isinstance(path, str):
                continue
            if not path.startswith("/"):
                yield ("storage", kind, i, "path"), f"path '{path}' is not absolute"
            if path in seen:
                yield ("storage", kind, i, "path"), f"path '{path}' is configured twice"
            seen.add(path)


def _unique_keys(config: Config) -> Iterator[Problem]:
    for section, name, key in _UNIQUE:
        seen: set[str] = set()
        for i, entry in _entries(config, section, name):
            value = entry.get(key)
            if not isinstance(value, str):
                continue
            if value in seen:
                yield (section, name, i, key), f"'{value}' is configured twice"
            seen.add(value)


def _absolute_fields(config: Config) -> Iterator[Problem]:
    for section, name, key in _ABSOLUTE:
        for i, entry in _entries(config, section, name):
            value = entry.get(key)
            if isinstance(value, str) and not value.startswith("/"):
                yield (section, name, i, key), f"'{value}' is not an absolute path"


def _storage_entries(config: Config) -> Iterator[Problem]:
    for kind in ("files", "directories"):
        for i, entry in _entries(config, "storage", kind):
            mode = entry.get("mode")
            if isinstance(mode, int) and not 0 <= mode <= _MAX_MODE:
                yield ("storage", kind, i, "mode"), "is not a file mode (0 to 0o7777)"
    for i, entry in _entries(config, "storage", "files"):
        yield from _resource(("storage", "files", i, "contents"), entry.get("contents"))
        for j, resource in enumerate(entry.get("append") or []):
            yield from _resource(("storage", "files", i, "append", j), resource)
    for i, entry in _entries(config, "storage", "links"):
        if not entry.get("target"):
            yield ("storage", "links", i, "target"), "a link needs a target"
    for i, entry in _entries(config, "storage", "filesystems"):
        fmt = entry.get("format")
        if isinstance(fmt, str) and fmt not in _FORMATS:
            known = ", ".join(sorted(f for f in _FORMATS if f))
            yield (
                ("storage", "filesystems", i, "format"),
                f"is not a format Ignition makes ({known})",
            )


def _resource(at: tuple[str | int, ...], resource: Any) -> Iterator[Problem]:
    """A fetched resource: its URL scheme, hash function and compression (never its values)."""
    if not isinstance(resource, dict):
        return
    source = resource.get("source")
    if isinstance(source, str) and _scheme(source) not in _SCHEMES:
        yield (*at, "source"), "has a URL scheme Ignition cannot fetch"
    verification = resource.get("verification")
    digest = verification.get("hash") if isinstance(verification, dict) else None
    if isinstance(digest, str) and not digest.startswith(_HASHES):
        yield (*at, "verification", "hash"), "is not sha512-… or sha256-…"
    compression = resource.get("compression")
    if isinstance(compression, str) and compression not in _COMPRESSIONS:
        yield (*at, "compression"), "is not a compression Ignition reads (gzip)"


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:
        return "?"


def _units(config: Config) -> Iterator[Problem]:
    for i, entry in _entries(config, "systemd", "units"):
        name = entry.get("name", "")
        if not isinstance(name, str) or not _UNIT.match(name):
            yield ("systemd", "units", i, "name"), f"'{name}' is not a unit name"
        for j, dropin in enumerate(entry.get("dropins") or []):
            dropin_name = dropin.get("name") if isinstance(dropin, dict) else None
            if isinstance(dropin_name, str) and not dropin_name.endswith(".conf"):
                yield (
                    ("systemd", "units", i, "dropins", j, "name"),
                    f"'{dropin_name}' is not a drop-in name (NAME.conf)",
                )


def _kernel_arguments(config: Config) -> Iterator[Problem]:
    arguments = config.get("kernelArguments") or {}
    if not isinstance(arguments, dict):
        return
    seen: dict[str, str] = {}
    for which in ("shouldExist", "shouldNotExist"):
        for i, argument in enumerate(arguments.get(which) or []):
            if not isinstance(argument, str):
                continue
            if argument in seen:
                yield ("kernelArguments", which, i), f"'{argument}' is listed twice"
            seen[argument] = which
