"""Every generated Ignition config, for every example node and every OS, validates against
the official Ignition JSON schema of the spec it is written in (the one its release reads),
and passes Ignition's semantic checks — hint-chosen installs included."""

from __future__ import annotations

import dataclasses

import pytest

from strata.ignition import PROFILES, final_config, install_device, live_config, semantic_errors
from strata.ignition.install import resolves_root_device
from tests.unit.ignition.examples import VERSIONS, as_os, callbacks, errors, plans

FRAGMENT = {
    "ignition": {"version": "3.3.0"},
    "storage": {
        "files": [{"path": "/etc/motd", "mode": 420, "contents": {"source": "data:,hello%0A"}}]
    },
    "systemd": {"units": [{"name": "chronyd.service", "enabled": True}]},
}


@pytest.mark.parametrize("os_name", sorted(PROFILES))
@pytest.mark.parametrize("example", ["lab", "midsize", "hyperscale"])
def test_every_node_every_os(example: str, os_name: str) -> None:
    profile = PROFILES[os_name]
    failures: list[str] = []
    for plan in plans(example):
        plan = as_os(plan, os_name)
        if install_device(plan) is None and not resolves_root_device(plan):
            plan = dataclasses.replace(plan, install_disk="/dev/sda")  # coreos needs a disk
        hooks = callbacks(plan, os_name)
        final = final_config(plan, profile, [FRAGMENT], hooks)
        live = live_config(plan, profile, final, hooks)
        for stage, config in (("final", final), ("live", live)):
            version = config["ignition"]["version"]
            problems = errors(config, version) + semantic_errors(config)
            failures += [f"{plan.name} {stage} ({version}): {p}" for p in problems]
    assert failures == []


def test_the_midsize_example_installs_by_hints() -> None:
    """Its nodes' rootDeviceHints (model and minSizeGigabytes) are resolved on the machine."""
    assert all(resolves_root_device(plan) for plan in plans("midsize"))
    assert {plan.os_version for plan in plans("midsize")} == {VERSIONS["flatcar"]}


def test_the_schema_check_can_fail() -> None:
    """A planted mistake (a mode given as a string) is caught: the check above is not vacuous."""
    plan = plans("lab")[0]
    config = final_config(plan, PROFILES["fcos"])
    config["storage"]["files"][0]["mode"] = "0644"
    assert errors(config, "3.5.0")
    config["storage"]["files"].append({"path": "etc/x", "contents": {"source": "data:,"}})
    last = len(config["storage"]["files"]) - 1
    assert f"storage.files[{last}].path: path 'etc/x' is not absolute" in semantic_errors(config)
