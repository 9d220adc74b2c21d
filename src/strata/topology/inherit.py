"""Settings inherited down the tree: topology -> region -> zone -> rack -> node.

The merge rules are written in settings.py's module docstring; this module
applies them. ``Inherited`` records, beside each value, the document path
where it was written, so a finding about an inherited value points at the
line that set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from pydantic.alias_generators import to_camel

from strata.topology.diagnostics import Path
from strata.topology.settings import IgnitionFragment, NodeSettings, RootDeviceHints

__all__ = ["ROOT", "Inherited", "inherit"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Inherited:
    layer: str | None = None
    role: str | None = None
    os: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # name, channel, version
    bmc: Mapping[str, Any] = field(
        default_factory=lambda: _EMPTY
    )  # protocol, credentials, insecure
    boot: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # method, firmware
    install_disk: str | None = None
    root_device_hints: RootDeviceHints | None = None
    ssh_keys: tuple[str, ...] = ()
    ignition: tuple[IgnitionFragment, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    origin: Mapping[str, Path] = field(
        default_factory=lambda: _EMPTY
    )  # "os.name" -> where it was set


ROOT = Inherited()


def inherit(parent: Inherited, settings: NodeSettings | None, path: Path) -> Inherited:
    """The settings at ``path``: ``parent``'s, overridden by what ``settings`` sets."""
    if settings is None:
        return parent
    changes: dict[str, Any] = {}
    origin = dict(parent.origin)
    for name in ("layer", "role"):
        value = getattr(settings, name)
        if value is not None:
            changes[name] = value
            origin[name] = (*path, name)
    for name in ("os", "bmc", "boot"):
        sub = getattr(settings, name)
        if sub is not None:
            own = sub.model_dump(exclude_none=True)
            changes[name] = MappingProxyType({**getattr(parent, name), **own})
            origin.update({f"{name}.{k}": (*path, name, to_camel(k)) for k in own})
    if settings.install_disk is not None or settings.root_device_hints is not None:
        changes["install_disk"] = settings.install_disk
        changes["root_device_hints"] = settings.root_device_hints
    if settings.ssh_keys is not None:
        changes["ssh_keys"] = tuple(settings.ssh_keys)
        origin["sshKeys"] = (*path, "sshKeys")
    if settings.ignition is not None:
        changes["ignition"] = tuple(settings.ignition)
    if settings.labels is not None:
        changes["labels"] = MappingProxyType({**parent.labels, **settings.labels})
    if not changes:
        return parent
    return replace(parent, origin=MappingProxyType(origin), **changes)
