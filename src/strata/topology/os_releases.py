"""Which Ignition config spec each OS release reads: a table, as data, with its sources.

Strata writes Ignition spec 3 configs. An Ignition that reads spec 3.N also reads every
3.M below it (coreos/ignition ``config/v3_N`` ``ParseCompatibleVersion``), so one number
per release says all: the highest spec it reads. A release older than any Ignition v2.x
(which reads spec 3) reads only spec 2 configs, which Strata does not write: nothing can
serve it. Ignition's own release notes say which Ignition stabilized which spec
(coreos.github.io/ignition/release-notes): 3.1.0 in 2.3.0, 3.2.0 in 2.7.0, 3.3.0 in
2.11.0, 3.4.0 in 2.15.0, 3.5.0 in 2.20.0. Each boundary below cites where the OS says
which Ignition a release ships. ``SPEC_CEILING`` is the newest spec Strata writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "RELEASES",
    "SPEC_CEILING",
    "ReleaseError",
    "SpecSince",
    "first_release",
    "highest_spec",
    "spec_key",
]

SPEC_CEILING = "3.5.0"

Key = tuple[int, ...]


class ReleaseError(ValueError):
    """No Ignition spec 3 config can serve this release; says why and what to choose."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True, slots=True)
class SpecSince:
    """Releases from ``since`` on (until the next row) read Ignition spec ``spec`` at most."""

    since: Key
    spec: str
    source: str


# Flatcar: MAJOR.MINOR.PATCH; the major number grows across all channels (a Beta or
# Stable is a later build of an Alpha's major), so a boundary is an Alpha's version.
# The Ignition of each release: flatcar/scripts, sdk_container/.../sys-apps/ignition.
_FLATCAR = (
    SpecSince(
        (3185, 0, 0),
        "3.3.0",
        "Alpha 3185.0.0 moved to Ignition 2.13 (specs 3.0.0-3.3.0, spec 2 still translated): "
        "flatcar/Flatcar#387, coreos/butane#335; Stable 3510.2.x ships Ignition 2.14.0",
    ),
    SpecSince(
        (3535, 0, 0),
        "3.4.0",
        "Alpha 3535.0.0 reads spec 3.4.0 (Ignition 2.15.0): flatcar/Flatcar#1000; Stable "
        "3602.2.0's notes list Ignition 2.15.0 against Stable 3510.2.8",
    ),
    SpecSince(
        (4152, 0, 0),
        "3.5.0",
        "flatcar/scripts 17c232f3ae 'sys-apps/ignition: bump to 2.20.0', first in Alpha "
        "4152.0.0 and Stable 4152.2.0 (4081 and LTS 4081.3.x keep Ignition 2.19.0)",
    ),
)
# Fedora CoreOS: FEDORA.YYYYMMDD.STREAM.REVISION, where YYYYMMDD dates the package
# snapshot (fedora-coreos-tracker#81, #211) — the lockfile a build is made from. A
# boundary is the day the later of testing-devel and next-devel locked that Ignition
# (coreos/fedora-coreos-config, manifest-lock.x86_64.json history).
_FCOS = (
    SpecSince((0,), "3.0.0", "every FCOS release ships Ignition 2.x (spec 3.0.0 or later)"),
    SpecSince((20200508,), "3.1.0", "Ignition 2.3.0 locked 2020-05-07 (testing), 05-08 (next)"),
    SpecSince((20201019,), "3.2.0", "Ignition 2.7.0 locked 2020-10-19 (testing and next)"),
    SpecSince(
        (20210908,),
        "3.3.0",
        "Ignition 2.11.0 locked 2021-06-28 (testing); next 2.12.0 on 2021-09-08",
    ),
    SpecSince(
        (20230310,), "3.4.0", "Ignition 2.15.0 locked 2023-02-23 (testing), 2023-03-10 (next)"
    ),
    SpecSince(
        (20241024,), "3.5.0", "Ignition 2.20.0 fast-tracked 2024-10-23 (testing), 10-24 (next)"
    ),
)
# RHEL CoreOS follows OpenShift: the spec an OpenShift minor's RHCOS and Machine Config
# Operator read. Butane's `openshift` variants target exactly that (coreos/butane
# docs/specs.md and NEWS).
_RHCOS = (
    SpecSince(
        (4, 6),
        "3.1.0",
        "OpenShift 4.6 moved RHCOS to Ignition spec 3.1.0 (openshift/openshift-docs#40822)",
    ),
    SpecSince(
        (4, 7),
        "3.2.0",
        "OpenShift 4.7 release notes: RHCOS supports spec 3.2.0; Butane openshift 4.8.0-4.13.0 "
        "-> 3.2.0 (3.3.0 never reached the MCO: coreos/butane#312)",
    ),
    SpecSince((4, 14), "3.4.0", "Butane openshift 4.14.0-4.18.0 -> Ignition 3.4.0"),
    SpecSince(
        (4, 19),
        "3.5.0",
        "Butane 0.24.0: openshift 4.19.0 -> 3.5.0; 4.20.0, 4.21.0 -> 3.5.0; the 4.22 MCO reads "
        "up to 3.5.0 (coreos/butane#715)",
    ),
)

RELEASES: dict[str, tuple[SpecSince, ...]] = {
    "flatcar": _FLATCAR,
    "fcos": _FCOS,
    "rhcos": _RHCOS,
}

_FLATCAR_VERSION = re.compile(r"^(\d{1,6})\.(\d{1,4})\.(\d{1,4})$")
_FCOS_VERSION = re.compile(
    r"^(\d{2,3})\.((?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]))\.\d+\.\d+$"
)
_OPENSHIFT_VERSION = re.compile(r"^4\.(\d{1,2})(?:\.\d+)?$")  # 4.16, 4.16.3 (boot images)
_RHCOS_BUILD = re.compile(r"^4(\d{1,2})\.\d{2}\.\d{12}-\d+$")  # 416.94.202405291527-0


def _flatcar(version: str) -> Key | None:
    found = _FLATCAR_VERSION.match(version)
    return tuple(int(part) for part in found.groups()) if found else None


def _fcos(version: str) -> Key | None:
    found = _FCOS_VERSION.match(version)
    return (int(found.group(2)),) if found else None


def _rhcos(version: str) -> Key | None:
    found = _OPENSHIFT_VERSION.match(version) or _RHCOS_BUILD.match(version)
    return (4, int(found.group(1))) if found else None


_PARSE: dict[str, tuple[Callable[[str], Key | None], str, str]] = {
    # OS: (parser, what a release looks like, an example)
    "flatcar": (_flatcar, "MAJOR.MINOR.PATCH", "4081.2.0"),
    "fcos": (
        _fcos,
        "FEDORA.YYYYMMDD.STREAM.REVISION",
        "41.20241109.3.0",
    ),
    "rhcos": (
        _rhcos,
        "the OpenShift version, 4.16 or 4.16.3, or an RHCOS build, 416.94.202405291527-0",
        "4.16.3",
    ),
}
_NAMES = {"flatcar": "Flatcar", "fcos": "Fedora CoreOS", "rhcos": "RHEL CoreOS"}


def highest_spec(os_name: str, version: str) -> str:
    """The highest Ignition spec (3.x.0) ``os_name`` ``version`` reads, capped at what
    Strata writes; ``ReleaseError`` when the version is not one of the OS's release
    numbers or the release reads no spec 3 config. ``KeyError`` for an unknown OS."""
    parse, shape, example = _PARSE[os_name]
    key = parse(version)
    if key is None:
        raise ReleaseError(
            f"'{version}' is not a {_NAMES[os_name]} release ({shape})", f'e.g. "{example}"'
        )
    rows = [row for row in RELEASES[os_name] if row.since <= key]
    if not rows:
        first = RELEASES[os_name][0]
        raise ReleaseError(
            f"{_NAMES[os_name]} {version} reads no Ignition spec 3 config (only spec 2), "
            "and Strata writes spec 3",
            f"use {_later(os_name, first.since)}",
        )
    return min(rows[-1].spec, SPEC_CEILING, key=spec_key)


def spec_key(spec: str) -> tuple[int, ...]:
    """``"3.4.0"`` -> ``(3, 4, 0)``, for comparing spec versions."""
    return tuple(int(part) for part in spec.split("."))


def first_release(os_name: str, spec: str) -> str | None:
    """The releases of ``os_name`` that read ``spec``, as a person says it, e.g.
    ``Flatcar 3535.0.0 or later``; None when no release reads it."""
    for row in RELEASES[os_name]:
        if spec_key(row.spec) >= spec_key(spec):
            return _later(os_name, row.since)
    return None


def _later(os_name: str, since: Key) -> str:
    if os_name == "fcos":
        day = str(since[0])
        return f"a Fedora CoreOS release dated {day[:4]}-{day[4:6]}-{day[6:]} or later"
    return f"{_NAMES[os_name]} {'.'.join(str(part) for part in since)} or later"
