"""What Ignition checks beyond its JSON schema (Ignition's config validation, "report"):
absolute paths, one entry per path across files, directories and links, unique unit
and user names, unit names with a unit type. The schema checks structure and types."""

from __future__ import annotations

import re
from typing import Any

from strata.ignition.config import Config

__all__ = ["semantic_errors"]

# systemd.unit(5): the unit types a unit file name may end in.
_UNIT = re.compile(
    r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$"
)


def semantic_errors(config: Config) -> list[str]:
    errors: list[str] = []
    storage: dict[str, Any] = config.get("storage", {})
    seen: set[str] = set()
    for kind in ("files", "directories", "links"):
        for entry in storage.get(kind, []):
            path = entry.get("path", "")
            if not path.startswith("/"):
                errors.append(f"storage.{kind}: path {path!r} is not absolute")
            if path in seen:
                errors.append(f"storage.{kind}: path {path!r} is configured twice")
            seen.add(path)
    names: set[str] = set()
    for entry in config.get("systemd", {}).get("units", []):
        name = entry.get("name", "")
        if not _UNIT.match(name):
            errors.append(f"systemd.units: {name!r} is not a unit name")
        if name in names:
            errors.append(f"systemd.units: {name!r} is configured twice")
        names.add(name)
    users = [u.get("name") for u in config.get("passwd", {}).get("users", [])]
    errors.extend(
        f"passwd.users: {n!r} is configured twice" for n in {u for u in users if users.count(u) > 1}
    )
    return errors
