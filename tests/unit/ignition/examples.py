"""Shared: example plans, callback URLs, and the official Ignition JSON schemas."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from strata.ignition import Callbacks, RecipeURLs
from strata.plan import NodePlan, build_plan
from strata.topology import load
from tests.support.shared import shared

ROOT = Path(__file__).resolve().parents[3]
BOOT = "http://10.0.0.1:8080"
VERSIONS = {"flatcar": "4081.2.0", "fcos": "41.20241109.3.0", "rhcos": "416.94.202405291527-0"}
"""A current release of each OS (Flatcar and RHCOS read spec 3.4.0, FCOS 3.5.0)."""


@cache
def plans(example: str) -> tuple[NodePlan, ...]:
    return build_plan(load(ROOT / "examples" / example / "topology.yaml")).nodes


def as_os(plan: NodePlan, os_name: str, version: str | None = None) -> NodePlan:
    """``plan`` for another OS and release (a release of that OS: the spec follows it)."""
    return dataclasses.replace(plan, os_name=os_name, os_version=version or VERSIONS[os_name])


@cache
def validator(version: str) -> jsonschema.Draft4Validator:
    """The official schema of Ignition spec ``version`` (shared/schemas, from coreos/ignition)."""
    path = shared("schemas", "ignition", f"v{version.rsplit('.', 1)[0].replace('.', '_')}.json")
    return jsonschema.Draft4Validator(json.loads(path.read_text()))


def callbacks(plan: NodePlan, os_name: str) -> Callbacks:
    return Callbacks(
        events=f"{BOOT}/events/{plan.name}?token=tok-{plan.name}",
        assets=f"{BOOT}/assets/{os_name}/{plan.os_version}",
    )


def urls(plan: NodePlan, os_name: str) -> RecipeURLs:
    return RecipeURLs(
        assets=f"{BOOT}/assets/{os_name}/{plan.os_version}",
        live_config=f"{BOOT}/ignition/{plan.name}?token=live-{plan.name}",
        final_config=f"{BOOT}/ignition/{plan.name}?token=final-{plan.name}",
    )


def errors(config: dict[str, Any], version: str) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(version).iter_errors(config)
    ]
