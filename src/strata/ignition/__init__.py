"""Ignition configs and boot recipes for Flatcar, Fedora CoreOS and RHEL CoreOS. Pure."""

from strata.ignition.build import (
    BuildError,
    Callbacks,
    final_config,
    install_device,
    live_config,
    spec_version,
)
from strata.ignition.config import Config
from strata.ignition.fragment import fragment_problems
from strata.ignition.merge import merge
from strata.ignition.profiles import PROFILES, Artifacts, OSProfile, profile_for
from strata.ignition.recipe import RecipeURLs, disk_script, install_script
from strata.ignition.validate import semantic_errors, semantic_problems

__all__ = [
    "PROFILES",
    "Artifacts",
    "BuildError",
    "Callbacks",
    "Config",
    "OSProfile",
    "RecipeURLs",
    "disk_script",
    "final_config",
    "fragment_problems",
    "install_device",
    "install_script",
    "live_config",
    "merge",
    "profile_for",
    "semantic_errors",
    "semantic_problems",
    "spec_version",
]
