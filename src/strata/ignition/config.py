"""Ignition config v3 pieces as plain JSON values, built by small functions.

Field names and shapes follow the Ignition configuration specification
(coreos.github.io/ignition/configuration-v3_4 and v3_5): ``storage.files``
entries have a ``path``, ``mode`` (decimal) and ``contents.source`` (a URL;
here RFC 2397 ``data:`` URLs); ``systemd.units`` have ``name``, ``enabled``,
``contents``; ``passwd.users`` have ``name`` and ``sshAuthorizedKeys``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

__all__ = ["Config", "data_url", "empty", "file", "unit", "user"]

Config = dict[str, Any]


def empty(version: str) -> Config:
    return {"ignition": {"version": version}}


def data_url(text: str) -> str:
    """RFC 2397: percent-encoded when that is shorter, else base64."""
    plain = "data:," + quote(text, safe="")
    encoded = "data:;base64," + base64.b64encode(text.encode()).decode()
    return plain if len(plain) <= len(encoded) else encoded


def file(path: str, text: str, mode: int = 0o644, overwrite: bool = True) -> dict[str, Any]:
    return {
        "path": path,
        "mode": mode,
        "overwrite": overwrite,
        "contents": {"source": data_url(text)},
    }


def unit(name: str, contents: str, enabled: bool = True) -> dict[str, Any]:
    return {"name": name, "enabled": enabled, "contents": contents}


def user(name: str, ssh_keys: list[str], groups: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "sshAuthorizedKeys": list(ssh_keys)}
    if groups:
        entry["groups"] = list(groups)
    return entry
