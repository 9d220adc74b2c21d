"""Each OS release is served configs in the Ignition spec it reads (strata.topology.os_releases),
valid against that spec's official schema; what a release cannot read is refused."""

from __future__ import annotations

import dataclasses
import re

import pytest

from strata.ignition import PROFILES, BuildError, final_config, live_config, semantic_errors
from strata.topology.os_releases import ReleaseError, highest_spec
from tests.unit.ignition.examples import as_os, callbacks, errors, plans

# (OS, release, the spec it reads): each side of every boundary of the table.
RELEASES = [
    ("flatcar", "3185.0.0", "3.3.0"),  # Ignition 2.13: the first Flatcar with spec 3
    ("flatcar", "3510.2.1", "3.3.0"),  # the release: Ignition 2.14, not 3.4.0
    ("flatcar", "3510.2.8", "3.3.0"),
    ("flatcar", "3535.0.0", "3.4.0"),  # Ignition 2.15
    ("flatcar", "3602.2.0", "3.4.0"),
    ("flatcar", "4081.2.0", "3.4.0"),  # Ignition 2.19
    ("flatcar", "4081.3.5", "3.4.0"),  # LTS 2024
    ("flatcar", "4152.2.0", "3.5.0"),  # Ignition 2.20
    ("fcos", "31.20200505.3.0", "3.0.0"),
    ("fcos", "32.20200601.3.0", "3.1.0"),
    ("fcos", "32.20201104.3.0", "3.2.0"),
    ("fcos", "34.20210821.3.0", "3.2.0"),
    ("fcos", "34.20210919.3.0", "3.3.0"),
    ("fcos", "37.20230303.3.0", "3.3.0"),
    ("fcos", "37.20230322.3.0", "3.4.0"),
    ("fcos", "40.20241019.3.0", "3.4.0"),
    ("fcos", "41.20241109.3.0", "3.5.0"),
    ("rhcos", "4.6.1", "3.1.0"),
    ("rhcos", "47.83.202102090044-0", "3.2.0"),
    ("rhcos", "4.13", "3.2.0"),
    ("rhcos", "4.14.0", "3.4.0"),
    ("rhcos", "416.94.202405291527-0", "3.4.0"),
    ("rhcos", "4.19.2", "3.5.0"),
]


@pytest.mark.parametrize(("os_name", "version", "spec"), RELEASES)
def test_a_release_is_served_the_spec_it_reads(os_name: str, version: str, spec: str) -> None:
    assert highest_spec(os_name, version) == spec
    plan = as_os(plans("lab")[0], os_name, version)
    hooks = callbacks(plan, os_name)
    final = final_config(plan, PROFILES[os_name], (), hooks)
    live = live_config(plan, PROFILES[os_name], final, hooks)
    for config in (final, live):
        assert config["ignition"]["version"] == spec
        assert errors(config, spec) + semantic_errors(config) == []


@pytest.mark.parametrize(
    ("os_name", "version", "message"),
    [
        ("flatcar", "3139.2.0", "Flatcar 3139.2.0 reads no Ignition spec 3 config"),
        ("flatcar", "3033.3.18", "Flatcar 3033.3.18 reads no Ignition spec 3 config"),  # LTS 2022
        ("rhcos", "4.5.9", "RHEL CoreOS 4.5.9 reads no Ignition spec 3 config"),
        ("flatcar", "stable", "'stable' is not a Flatcar release (MAJOR.MINOR.PATCH)"),
        ("fcos", "41.20241309.3.0", "'41.20241309.3.0' is not a Fedora CoreOS release"),
        ("rhcos", "4.16.0-rc.1", "'4.16.0-rc.1' is not a RHEL CoreOS release"),
    ],
)
def test_a_release_nothing_can_serve_is_refused(os_name: str, version: str, message: str) -> None:
    with pytest.raises(ReleaseError, match=re.escape(message)):
        highest_spec(os_name, version)
    plan = as_os(plans("lab")[0], os_name, version)
    with pytest.raises(BuildError, match=re.escape(message)):
        final_config(plan, PROFILES[os_name])


def test_a_merged_key_newer_than_the_release_reads_is_refused_not_served() -> None:
    """LUKS ``discard`` is spec 3.4.0; Flatcar 3510.2.1 reads 3.3.0 (validate refuses the
    fragment first; the builder never writes a config its reader would reject)."""
    plan = as_os(plans("lab")[0], "flatcar", "3510.2.1")
    luks = {"storage": {"luks": [{"name": "data", "device": "/dev/sdb", "discard": True}]}}
    with pytest.raises(BuildError, match=r"storage\.luks\[0\]\.discard is not in Ignition spec "):
        final_config(plan, PROFILES["flatcar"], [luks])
    newer = dataclasses.replace(plan, os_version="3602.2.0")
    assert final_config(newer, PROFILES["flatcar"], [luks])["storage"]["luks"][0]["discard"]


def test_the_profile_caps_the_spec() -> None:
    """A profile pinned lower (as ignition-validate's test pins 3.3.0) wins over the release."""
    plan = as_os(plans("lab")[0], "fcos")
    pinned = dataclasses.replace(PROFILES["fcos"], ignition_version="3.3.0")
    assert final_config(plan, pinned)["ignition"]["version"] == "3.3.0"
