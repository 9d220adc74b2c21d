"""The live config's install when root device hints choose the disk: resolve, then install.

A name topology.yaml gives (``installDisk``, or ``rootDeviceHints`` with only a
``deviceName``) goes to the installer as written. Any other hint can only be decided on
the machine, against its real disks — as Ironic's agent decides it at deploy time. So the
live system runs ``root-device.sh`` (this package; sysfs and udev's database, no value
ever evaluated) on the hints, written one ``NAME=VALUE`` a line, and installs to exactly
the disk it prints, by a stable /dev/disk/by-id or by-path name. When no disk or more
than one matches, the install does not start: the machine reports
``root-device-not-found`` or ``root-device-ambiguous`` to the boot service and stops.

The installers, as their docs spell them:
- Flatcar: ``flatcar-install -d DEVICE -C CHANNEL -V VERSION -b BASEURL -i IGNITION``
  (flatcar.org/docs/latest/installing/bare-metal/installing-to-disk).
- Fedora CoreOS and RHCOS: ``coreos-installer install DEST_DEVICE --ignition-file PATH
  --image-url URL`` (coreos.github.io/coreos-installer/cmd/install); ``--fetch-retries
  infinite`` as coreos-installer's own service passes it when it runs from kernel
  arguments (coreos/coreos-installer ``scripts/coreos-installer-service``). The final
  config is embedded as a file, as Flatcar's is, so no URL needs ``--insecure-ignition``.
The script is generated with every value quoted by ``shlex.quote``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from strata.ignition.config import Config, data_url, file
from strata.ignition.profiles import OSProfile
from strata.plan import NodePlan
from strata.provisioning import LogKind
from strata.topology.root_device import HINTS

__all__ = [
    "CLIENT_FAILURES",
    "InstallPaths",
    "hints_text",
    "install_files",
    "install_paths",
    "resolver_script",
    "resolves_root_device",
]

CLIENT_FAILURES = {2: LogKind.ROOT_DEVICE_NOT_FOUND, 3: LogKind.ROOT_DEVICE_AMBIGUOUS}
"""The resolver's exit status -> the event the machine reports (``provisioning.PHONE_HOME``)."""
_CURL = "/usr/bin/curl --fail --silent --show-error --retry 10 --retry-delay 5 -X POST"


@dataclass(frozen=True, slots=True)
class InstallPaths:
    """Where the live system keeps the install's files: /opt on Flatcar (a real
    directory), /etc on CoreOS (whose /opt is a link into /var)."""

    final: str
    resolver: str
    hints: str
    script: str


def install_paths(profile: OSProfile) -> InstallPaths:
    base = "/opt/strata" if profile.installer == "flatcar-install" else "/etc/strata"
    return InstallPaths(
        final=f"{base}/final.ign",
        resolver=f"{base}/root-device",
        hints=f"{base}/root-device.hints",
        script=f"{base}/install",
    )


def resolves_root_device(plan: NodePlan) -> bool:
    """True when the disk is chosen on the machine: hints other than ``deviceName``, and
    no ``installDisk`` (which topology.yaml never sets beside hints)."""
    hints = plan.root_device_hints or {}
    return plan.install_disk is None and any(name != "deviceName" for name in hints)


@cache
def resolver_script() -> str:
    return resources.files("strata.ignition").joinpath("root-device.sh").read_text()


@cache
def _resolver_source() -> str:
    """The script as a data URL, encoded once (9 KB: most of a live config's build time)."""
    return data_url(resolver_script())


def hints_text(hints: Mapping[str, Any]) -> str:
    """One ``NAME=VALUE`` a line, as ``root-device.sh`` reads them; ``ValueError`` for a
    value no line can hold (``strata validate`` refuses those first)."""
    lines = []
    for name in HINTS:
        if name not in hints:
            continue
        value = hints[name]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            raise ValueError(f"rootDeviceHints.{name} holds a control character")
        lines.append(f"{name}={text}")
    unknown = set(hints) - set(HINTS)
    if unknown:
        raise ValueError(f"unknown root device hints: {', '.join(sorted(unknown))}")
    return "".join(line + "\n" for line in lines)


def install_files(
    plan: NodePlan, profile: OSProfile, final: Config, events: str, mirror: str
) -> list[dict[str, Any]]:
    """The files of a hint-chosen install: the final config, the resolver, the hints, and
    the script the install unit runs. ``events``: the phone-home URL (with its token);
    ``mirror``: the artifact mirror for the node's OS and version."""
    paths = install_paths(profile)
    return [
        file(paths.final, json.dumps(final, sort_keys=True), 0o600),
        {**file(paths.resolver, "", 0o755), "contents": {"source": _resolver_source()}},
        file(paths.hints, hints_text(plan.root_device_hints or {}), 0o644),
        file(paths.script, _script(plan, profile, paths, events, mirror), 0o700),
    ]


def _script(
    plan: NodePlan, profile: OSProfile, paths: InstallPaths, events: str, mirror: str
) -> str:
    report = events + ("&" if "?" in events else "?") + "event="
    lines = [
        "#!/bin/sh",
        f"# Strata: install {profile.name} {plan.os_version} on {plan.name} to the one disk",
        "# its rootDeviceHints pick; if no disk or several match, tell Strata and stop.",
        f'report() {{ {_CURL} {shlex.quote(report)}"$1"; }}',
        "/usr/bin/udevadm settle --timeout=120 || true  # as coreos-installer's service waits",
        f"disk=$({shlex.quote(paths.resolver)} {shlex.quote(paths.hints)})",
        "found=$?",
        "case $found in",
        "0) ;;",
        *(f"{code}) report {event.value}; exit 1 ;;" for code, event in CLIENT_FAILURES.items()),
        "*) exit 1 ;;",
        "esac",
        "exec " + " ".join(_installer(plan, profile, paths, mirror)),
        "",
    ]
    return "\n".join(lines)


def _installer(plan: NodePlan, profile: OSProfile, paths: InstallPaths, mirror: str) -> list[str]:
    q = shlex.quote
    if profile.installer == "flatcar-install":
        # flatcar-install appends VERSION/flatcar_production_image.bin.bz2 to -b.
        channel = ["-C", q(plan.os_channel)] if plan.os_channel else []
        base = mirror.rsplit("/", 1)[0]
        return [
            "/usr/bin/flatcar-install",
            "-d",
            '"$disk"',
            *channel,
            "-V",
            q(plan.os_version),
            "-b",
            q(base),
            "-i",
            q(paths.final),
        ]
    image = profile.artifacts.names(plan.os_version)["disk_image"]
    return [
        "/usr/bin/coreos-installer",
        "install",
        '"$disk"',
        "--ignition-file",
        q(paths.final),
        "--image-url",
        q(f"{mirror}/{image}"),
        "--fetch-retries",
        "infinite",
    ]
