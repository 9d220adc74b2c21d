"""Golden files pin the lab's configs and recipes (iPXE, GRUB) for each OS: a change shows in review."""

from __future__ import annotations

import dataclasses
import json
import os
from base64 import b64decode
from pathlib import Path
from urllib.parse import unquote

import pytest

from strata.ignition import PROFILES, final_config, install_script, live_config
from strata.ignition.config import data_url
from strata.ignition.install import resolver_script
from strata.ignition.recipe import grub_config, install_recipe
from tests.unit.ignition.examples import VERSIONS, callbacks, plans, urls

GOLDEN = Path(__file__).parent / "golden"
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
        "boot.grub": grub_config(install_recipe(plan, profile, urls(plan, os_name)), plan.boot_mac),
    }
    for name, text in rendered.items():
        path = GOLDEN / f"{os_name}-{name}"
        if UPDATE:
            path.write_text(text)
        assert text == path.read_text(), f"{path.name} changed; if intended: STRATA_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("os_name", sorted(PROFILES))
def test_a_node_whose_disk_hints_choose(os_name: str) -> None:
    """The issue's node: rootDeviceHints {serialNumber} and no device name. The resolver's
    text is pinned by its own file (root-device.sh); here it stands as a placeholder."""
    plan = dataclasses.replace(
        plans("lab")[0],
        os_name=os_name,
        os_version=VERSIONS[os_name],
        install_disk=None,
        root_device_hints={"serialNumber": "S45NNE0M123456"},
    )
    profile = PROFILES[os_name]
    final = final_config(plan, profile, (), callbacks(plan, os_name))
    live = live_config(plan, profile, final, callbacks(plan, os_name))
    install = ""
    for entry in live["storage"]["files"]:
        if entry["path"].endswith("/root-device"):
            assert entry["contents"]["source"] == data_url(resolver_script())
            entry["contents"]["source"] = "data:,<src/strata/ignition/root-device.sh>"
        if entry["path"].endswith("/install"):
            kind, payload = entry["contents"]["source"].split(",", 1)
            install = b64decode(payload).decode() if "base64" in kind else unquote(payload)
    rendered = {
        "hints-live.ign": json.dumps(live, indent=2, sort_keys=True) + "\n",
        "hints-install.sh": install,
        "hints-boot.ipxe": install_script(plan, profile, urls(plan, os_name)),
    }
    for name, text in rendered.items():
        path = GOLDEN / f"{os_name}-{name}"
        if UPDATE:
            path.write_text(text)
        assert text == path.read_text(), f"{path.name} changed; if intended: STRATA_UPDATE_GOLDEN=1"
