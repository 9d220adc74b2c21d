"""Golden files pin the lab's configs and recipes for each OS: a change is visible in review."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from strata.ignition import PROFILES, final_config, install_script, live_config
from tests.unit.ignition.examples import callbacks, plans, urls

GOLDEN = Path(__file__).parent / "golden"
VERSIONS = {"flatcar": "4081.2.0", "fcos": "41.20241109.3.0", "rhcos": "416.94.202405291527-0"}
UPDATE = os.environ.get("STRATA_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("os_name", sorted(PROFILES))
def test_lab_control_plane(os_name: str) -> None:
    plan = dataclasses.replace(plans("lab")[0], os_name=os_name, os_version=VERSIONS[os_name])
    profile = PROFILES[os_name]
    final = final_config(plan, profile, (), callbacks(plan, os_name))
    rendered = {
        "final.ign": json.dumps(final, indent=2, sort_keys=True) + "\n",
        "live.ign": json.dumps(
            live_config(plan, profile, final, callbacks(plan, os_name)), indent=2, sort_keys=True
        )
        + "\n",
        "boot.ipxe": install_script(plan, profile, urls(plan, os_name)),
    }
    for name, text in rendered.items():
        path = GOLDEN / f"{os_name}-{name}"
        if UPDATE:
            path.write_text(text)
        assert text == path.read_text(), f"{path.name} changed; if intended: STRATA_UPDATE_GOLDEN=1"
