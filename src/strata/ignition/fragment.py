"""Is a fragment from topology.yaml valid Ignition for a node's OS? Checked before merging.

A fragment is merged into the config Strata generates (``merge``), whose ``ignition``
section is Strata's own, written in the spec the node's OS release reads
(``strata.topology.os_releases``). So a fragment is checked as that merge will see it:
a fragment that says it is a newer spec than the release reads is refused; its content
is checked under the older of the spec it says and the spec the release reads, against
the official JSON schema of that spec (``spec.schema``), then for keys that spec does not
know (Ignition warns about them and ignores them; here they are mistakes, and a key a
later spec has is named with that spec), then for what Ignition checks beyond the schema
(``semantic_problems``).

Problems name the place inside the fragment and the rule broken, never a value: a
fragment may carry a password hash or a file's contents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from strata.ignition.profiles import profile_for
from strata.ignition.spec import SPECS, newer_keys, schema
from strata.ignition.validate import Problem, semantic_problems
from strata.topology.os_releases import (
    SPEC_CEILING,
    ReleaseError,
    first_release,
    highest_spec,
    spec_key,
)

if TYPE_CHECKING:
    import jsonschema

__all__ = ["Problem", "fragment_problems"]


_SPEC = re.compile(r"^3\.\d+\.\d+$")


def fragment_problems(
    fragment: Mapping[str, Any], os_name: str, os_version: str | None = None
) -> Sequence[Problem]:
    """Problems of ``fragment`` merged into a config for ``os_name`` ``os_version``; empty
    when it is valid. Without a version, for the newest spec Strata writes for the OS; for
    a release nothing can serve, none (``strata validate`` reports the release itself).

    Raises ``ValueError`` for an OS without a profile (the topology's schema allows none).
    """
    try:
        spec = _spec(os_name, os_version)
    except ReleaseError:
        return []
    reader = f"{os_name} {os_version}" if os_version else f"Strata's {os_name} configs"
    declared = _declared(fragment.get("ignition"))
    problems = list(_ignition_section(fragment.get("ignition"), spec, reader, os_name))
    if declared and spec_key(declared) > spec_key(spec):
        declared = None  # refused above; check the content as the node's spec
    check = declared or spec
    config = {**fragment, "ignition": {"version": check}}
    problems += [_problem(e) for e in _validator(check).iter_errors(config)]
    limit = f"this fragment says ignition.version {declared}" if declared else reader
    problems += _newer(config, check, spec, limit, reader)
    if not problems:
        problems += semantic_problems(config)
    return problems


def _spec(os_name: str, os_version: str | None) -> str:
    newest = profile_for(os_name).ignition_version
    if os_version is None:
        return newest
    return min(highest_spec(os_name, os_version), newest, key=spec_key)


def _declared(section: Any) -> str | None:
    """The spec a fragment says it is written for, when it is one Strata knows."""
    version = section.get("version") if isinstance(section, dict) else None
    return version if isinstance(version, str) and version in SPECS else None


def _ignition_section(section: Any, spec: str, reader: str, os_name: str) -> Iterator[Problem]:
    """A fragment may say which spec it was written for; the rest of ``ignition`` is Strata's."""
    if section is None:
        return
    if not isinstance(section, dict):
        yield ("ignition",), "must be a mapping"
        return
    for key in section:
        if key != "version":
            yield ("ignition", key), "is set by Strata; a fragment may only give ignition.version"
    version = section.get("version")
    if version is None:
        return
    at: tuple[str | int, ...] = ("ignition", "version")
    if not (isinstance(version, str) and version.startswith("3.")):
        yield at, "a fragment is Ignition spec 3.x"
    elif not _SPEC.match(version) or version not in SPECS:
        yield at, f"is not an Ignition spec Strata writes (3.0.0 to {SPEC_CEILING})"
    elif spec_key(version) > spec_key(spec):
        later = first_release(os_name, version)
        instead = f", or use {later}" if later else ""
        yield (
            at,
            f"this fragment is Ignition spec {version}; {reader} reads up to {spec} "
            f"(write it for {spec}{instead})",
        )


def _newer(
    config: Mapping[str, Any], check: str, spec: str, limit: str, reader: str
) -> list[Problem]:
    """Keys spec ``check`` lacks: a typo, or a key of a later spec (named with that spec)."""
    out: list[Problem] = []
    for path, since in newer_keys(config, check):
        key = path[-1]
        if since is None:
            out.append((path, f"unknown key '{key}' in Ignition"))
        else:
            why = limit if spec_key(since) <= spec_key(spec) else f"{reader} reads up to {spec}"
            out.append((path, f"'{key}' is Ignition spec {since}; {why}"))
    return out


@cache
def _validator(version: str) -> jsonschema.Draft4Validator:
    """The official schema of spec ``version``; jsonschema is imported on first use (58 ms),
    so commands that check no fragment do not pay for it."""
    import jsonschema

    return jsonschema.Draft4Validator(schema(version))


def _problem(error: jsonschema.ValidationError) -> Problem:
    path = tuple(error.absolute_path)
    rule, expected = error.validator, error.validator_value
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return path, "must be " + " or ".join(str(k) for k in kinds if k != "null")
    if rule == "required":
        return path, str(error.message)  # "'name' is a required property": a key, not a value
    return path, f"breaks the Ignition schema's '{rule}' rule"
