"""NodePlan -> Ignition configs: the installed system's (final) and the installer's (live).

Both are written in the Ignition spec the node's OS release reads (``spec_version``:
the lower of the profile's newest spec and the release's, from
``strata.topology.os_releases``); a config that would need a key that spec lacks is
refused with the spec that has it. The final config sets the hostname, static
networking, the ``core`` user's SSH keys and a first-boot phone-home, then merges the
person's fragments from topology.yaml over it (Ignition's merge rules). The live config runs the
install: on Flatcar a unit calls ``flatcar-install`` with the final config
embedded as a file; on FCOS/RHCOS ``coreos-installer`` runs from kernel
arguments (see ``recipe``) and the live config only reports "installed". When
root device hints choose the disk, on every OS a unit runs the script of
``install``, which finds the disk on the machine and installs to it, or reports why not.
Pure: URLs come in as ``Callbacks``; nothing is fetched or read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from strata.errors import StrataError
from strata.ignition.config import Config, empty, file, unit, user
from strata.ignition.install import install_files, install_paths, resolves_root_device
from strata.ignition.merge import merge
from strata.ignition.network import network_files
from strata.ignition.profiles import OSProfile
from strata.ignition.spec import newer_keys
from strata.plan import NodePlan
from strata.topology.diagnostics import format_path
from strata.topology.os_releases import ReleaseError, highest_spec, spec_key

__all__ = [
    "BuildError",
    "Callbacks",
    "final_config",
    "install_device",
    "live_config",
    "spec_version",
]

FINAL_CONFIG_PATH = "/opt/strata/final.ign"
REPORTED = "/var/lib/strata/first-boot-reported"


class BuildError(StrataError, ValueError):
    """The plan cannot be turned into a config for this OS; says what to change."""

    kind = "ignition-build"


@dataclass(frozen=True, slots=True)
class Callbacks:
    """Where the booting machine reports to; each URL carries its token already."""

    events: str  # POST here with ?event=NAME appended by the caller's query convention
    assets: str  # the artifact mirror for this OS and version, no trailing slash


def final_config(
    plan: NodePlan,
    profile: OSProfile,
    fragments: Sequence[Config] = (),
    callbacks: Callbacks | None = None,
) -> Config:
    config = empty(spec_version(plan, profile))
    config["storage"] = {
        "files": [
            file("/etc/hostname", plan.name + "\n"),
            *network_files(profile.network, plan.interfaces),
        ]
    }
    if plan.ssh_keys:
        config["passwd"] = {"users": [user("core", list(plan.ssh_keys))]}
    if callbacks is not None:
        config["systemd"] = {
            "units": [
                _report_unit(
                    "strata-first-boot.service",
                    callbacks,
                    "first-boot",
                    after="network-online.target",
                    once=REPORTED,
                )
            ]
        }
    for fragment in fragments:
        config = merge(config, fragment)
    return _in_spec(plan, config)


def live_config(plan: NodePlan, profile: OSProfile, final: Config, callbacks: Callbacks) -> Config:
    config = empty(spec_version(plan, profile))
    if plan.ssh_keys:  # so a person can log in to a stuck installer
        config["passwd"] = {"users": [user("core", list(plan.ssh_keys))]}
    if resolves_root_device(plan):
        try:
            files = install_files(plan, profile, final, callbacks.events, callbacks.assets)
        except ValueError as exc:
            raise BuildError(f"{plan.name}: {exc}") from None
        config["storage"] = {"files": files}
        what = f"Install {profile.name} to the disk rootDeviceHints pick, for Strata"
        config["systemd"] = {
            "units": [_install_unit(what, install_paths(profile).script, callbacks)]
        }
    elif profile.installer == "flatcar-install":
        config["storage"] = {
            "files": [file(FINAL_CONFIG_PATH, json.dumps(final, sort_keys=True), 0o600)]
        }
        config["systemd"] = {"units": [_flatcar_install_unit(plan, callbacks)]}
    else:
        # coreos-installer.service installs and coreos-installer-reboot.service reboots;
        # coreos-installer-post.target lies between them (coreos-installer's systemd units).
        config["systemd"] = {
            "units": [
                _report_unit(
                    "strata-installed.service",
                    callbacks,
                    "installed",
                    after="coreos-installer.service",
                    wanted_by="coreos-installer-post.target",
                    before="coreos-installer-post.target",
                )
            ]
        }
    return _in_spec(plan, config)


def spec_version(plan: NodePlan, profile: OSProfile) -> str:
    """The Ignition spec the node's configs are written in: the lower of the newest the
    profile writes and the highest the node's OS release reads."""
    try:
        release = highest_spec(plan.os_name, plan.os_version)
    except ReleaseError as exc:
        raise BuildError(f"{plan.name}: {exc.message} ({exc.hint})") from None
    return min(release, profile.ignition_version, key=spec_key)


def _in_spec(plan: NodePlan, config: Config) -> Config:
    """``config`` as written: every key exists in its spec, or the build is refused."""
    version = config["ignition"]["version"]
    for path, since in newer_keys(config, version):
        have = f"Ignition spec {since} has it" if since else "no Ignition spec has it"
        raise BuildError(
            f"{plan.name}: {format_path(path)} is not in Ignition spec {version}, which "
            f"{plan.os_name} {plan.os_version} reads ({have}); remove it from the fragment "
            "or choose a release that reads that spec"
        )
    return config


def install_device(plan: NodePlan) -> str | None:
    """The disk to install to, when the plan names one: ``installDisk``, or hints that
    are only a ``deviceName``. None when hints choose it on the machine
    (``resolves_root_device``) or when nothing does."""
    if plan.install_disk:
        return plan.install_disk
    if resolves_root_device(plan):
        return None
    name = (plan.root_device_hints or {}).get("deviceName")
    return str(name) if name else None


def _flatcar_install_unit(plan: NodePlan, callbacks: Callbacks) -> dict[str, object]:
    device = install_device(plan)
    target = f"-d {device}" if device else "-s"  # -s: the smallest unmounted disk
    channel = f" -C {plan.os_channel}" if plan.os_channel else ""
    # flatcar-install appends VERSION/flatcar_production_image.bin.bz2 to -b.
    mirror = callbacks.assets.rsplit("/", 1)[0]
    install = (
        f"/usr/bin/flatcar-install {target}{channel} -V {plan.os_version} "
        f"-b {_escape(mirror)} -i {FINAL_CONFIG_PATH}"
    )
    return _install_unit("Install Flatcar to disk for Strata", install, callbacks)


def _install_unit(description: str, install: str, callbacks: Callbacks) -> dict[str, object]:
    """Install, report ``installed``, reboot: one oneshot unit, each step after the last
    succeeded (systemd.service(5): a failing ExecStart= stops the rest)."""
    return unit(
        "strata-install.service",
        "\n".join(
            [
                "[Unit]",
                f"Description={description}",
                "Wants=network-online.target",
                "After=network-online.target",
                "",
                "[Service]",
                "Type=oneshot",
                f"ExecStart={install}",
                f"ExecStart={_curl(callbacks, 'installed')}",
                "ExecStart=/usr/bin/systemctl --no-block reboot",
                "",
                "[Install]",
                "WantedBy=multi-user.target",
                "",
            ]
        ),
    )


def _report_unit(
    name: str,
    callbacks: Callbacks,
    event: str,
    *,
    after: str,
    wanted_by: str = "multi-user.target",
    before: str | None = None,
    once: str | None = None,
) -> dict[str, object]:
    ordered_after = " ".join(dict.fromkeys(["network-online.target", after]))
    lines = [
        "[Unit]",
        f"Description=Report {event} to Strata",
        "Wants=network-online.target",
        f"After={ordered_after}",
    ]
    if before:
        lines.append(f"Before={before}")
    if once:
        lines.append(f"ConditionPathExists=!{once}")
    lines += [
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        f"ExecStart={_curl(callbacks, event)}",
    ]
    if once:
        lines += [
            f"ExecStart=/usr/bin/mkdir -p {once.rsplit('/', 1)[0]}",
            f"ExecStart=/usr/bin/touch {once}",
        ]
    lines += ["", "[Install]", f"WantedBy={wanted_by}", ""]
    return unit(name, "\n".join(lines))


def _curl(callbacks: Callbacks, event: str) -> str:
    url = (
        f"{callbacks.events}&event={event}"
        if "?" in callbacks.events
        else f"{callbacks.events}?event={event}"
    )
    return f'/usr/bin/curl --fail --silent --show-error --retry 10 --retry-delay 5 -X POST "{_escape(url)}"'


def _escape(text: str) -> str:
    """systemd expands % specifiers in ExecStart (systemd.unit(5), "Specifiers"): double them."""
    return text.replace("%", "%%")
