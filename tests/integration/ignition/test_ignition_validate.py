"""Ignition's own validator (Debian's ignition-validate, Ignition 2.14) accepts what Strata builds.

Debian's Ignition knows specs up to 3.3.0, so each config is also rendered at 3.3.0; every
field the builder emits exists in 3.3.0 (the official 3.3 schema is checked too), and
the validator catches what the schema cannot: relative paths, duplicates, bad unit names.
An unknown key is only a warning with exit 0 (shared/TESTING.md), so output must be empty.
Releases that read 3.3.0 or less are validated as served, at their own spec; installs
whose disk root device hints choose (every midsize node) are among them.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from strata.ignition import PROFILES, final_config, install_device, live_config
from strata.ignition.install import resolves_root_device
from strata.plan import NodePlan
from tests.unit.ignition.examples import as_os, callbacks, errors, plans
from tests.unit.ignition.test_release_specs import RELEASES


def validate(config: dict[str, object], tmp_path: Path, name: str) -> str:
    tool = shutil.which("ignition-validate")
    assert tool, "ignition-validate is missing: ./dev test installs it (apt-get install ignition)"
    path = tmp_path / f"{name}.ign"
    path.write_text(json.dumps(config))
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return (
        f"exit {result.returncode}: {result.stdout}{result.stderr}".strip()
        if result.returncode or result.stdout or result.stderr
        else ""
    )


def sample() -> list[NodePlan]:
    """Every lab node, and the first node of every midsize rack."""
    seen: set[str] = set()
    chosen = list(plans("lab"))
    for plan in plans("midsize"):
        if plan.rack not in seen:
            seen.add(plan.rack)
            chosen.append(plan)
    return chosen


@pytest.mark.parametrize("os_name", sorted(PROFILES))
def test_ignition_validate_accepts_every_config(os_name: str, tmp_path: Path) -> None:
    profile = dataclasses.replace(PROFILES[os_name], ignition_version="3.3.0")
    problems: list[str] = []
    for plan in sample():
        plan = as_os(plan, os_name)
        if install_device(plan) is None and not resolves_root_device(plan):
            plan = dataclasses.replace(plan, install_disk="/dev/sda")
        final = final_config(plan, profile, (), callbacks(plan, os_name))
        for stage, config in (
            ("final", final),
            ("live", live_config(plan, profile, final, callbacks(plan, os_name))),
        ):
            assert errors(config, "3.3.0") == []
            verdict = validate(config, tmp_path, f"{plan.name}-{stage}")
            if verdict:
                problems.append(f"{plan.name} {stage}: {verdict}")
    assert problems == []


@pytest.mark.parametrize(
    ("os_name", "version", "spec"), [r for r in RELEASES if r[2] <= "3.3.0"], ids=str
)
def test_a_release_is_served_configs_its_ignition_reads(
    os_name: str, version: str, spec: str, tmp_path: Path
) -> None:
    """Flatcar 3510.2.1 (the issue's), FCOS before 2023-03, RHCOS 4.6-4.13: as served."""
    problems = []
    for plan in (plans("lab")[0], plans("midsize")[0]):  # a named disk; hints
        plan = as_os(plan, os_name, version)
        if install_device(plan) is None and not resolves_root_device(plan):
            plan = dataclasses.replace(plan, install_disk="/dev/sda")
        final = final_config(plan, PROFILES[os_name], (), callbacks(plan, os_name))
        live = live_config(plan, PROFILES[os_name], final, callbacks(plan, os_name))
        for stage, config in (("final", final), ("live", live)):
            assert config["ignition"]["version"] == spec
            verdict = validate(config, tmp_path, f"{plan.name}-{stage}")
            if verdict:
                problems.append(f"{plan.name} {stage}: {verdict}")
    assert problems == []


def test_ignition_validate_can_fail(tmp_path: Path) -> None:
    config = final_config(
        plans("lab")[0], dataclasses.replace(PROFILES["flatcar"], ignition_version="3.3.0")
    )
    config["storage"]["files"].append(dict(config["storage"]["files"][0]))  # the same path twice
    assert validate(config, tmp_path, "duplicate").startswith("exit 1")
