"""Is a fragment from topology.yaml valid Ignition for a node's OS? Checked before merging.

A fragment is merged into the config Strata generates (``merge``), whose ``ignition``
section is Strata's own; so the fragment is checked as that merge will see it: its
content under the ``ignition.version`` of the node's OS profile, against the official
JSON schema of that spec (``schemas/vX_Y.json``, from coreos/ignition
``config/vX_Y/schema/ignition.json``, commit a5d574a8, Apache-2.0), then for keys the
spec does not know (Ignition warns about them and ignores them; here they are
mistakes), then for what Ignition checks beyond the schema (``semantic_problems``).

Problems name the place inside the fragment and the rule broken, never a value: a
fragment may carry a password hash or a file's contents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from strata.ignition.profiles import profile_for
from strata.ignition.validate import Problem, semantic_problems

if TYPE_CHECKING:
    import jsonschema

__all__ = ["Problem", "fragment_problems"]


def fragment_problems(fragment: Mapping[str, Any], os_name: str) -> Sequence[Problem]:
    """Problems of ``fragment`` merged into a config for ``os_name``; empty when it is valid.

    Raises ``ValueError`` for an OS without a profile (the topology's schema allows none).
    """
    version = profile_for(os_name).ignition_version
    problems = list(_ignition_section(fragment.get("ignition")))
    config = {**fragment, "ignition": {"version": version}}
    validator = _validator(version)
    problems += [_problem(e) for e in validator.iter_errors(config)]
    problems += _unknown_keys(config, validator.schema, validator.schema, ())
    if not problems:
        problems += semantic_problems(config)
    return problems


def _ignition_section(section: Any) -> Iterator[Problem]:
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
    if version is not None and not (isinstance(version, str) and version.startswith("3.")):
        yield ("ignition", "version"), "a fragment is Ignition spec 3.x"


@cache
def _validator(version: str) -> jsonschema.Draft4Validator:
    """The official schema of spec ``version``; jsonschema is imported on first use (58 ms),
    so commands that check no fragment do not pay for it."""
    import jsonschema

    name = f"v{version.rsplit('.', 1)[0].replace('.', '_')}.json"
    text = resources.files("strata.ignition").joinpath("schemas", name).read_text()
    return jsonschema.Draft4Validator(json.loads(text))


def _problem(error: jsonschema.ValidationError) -> Problem:
    path = tuple(error.absolute_path)
    rule, expected = error.validator, error.validator_value
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return path, "must be " + " or ".join(str(k) for k in kinds if k != "null")
    if rule == "required":
        return path, str(error.message)  # "'name' is a required property": a key, not a value
    return path, f"breaks the Ignition schema's '{rule}' rule"


def _unknown_keys(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: tuple[str | int, ...]
) -> list[Problem]:
    """Keys no schema (or ``allOf`` branch) at their place declares, found by walking both."""
    schemas = list(_branches(schema, root))
    out: list[Problem] = []
    if isinstance(value, dict):
        known: dict[str, Mapping[str, Any]] = {}
        for branch in schemas:
            known.update(branch.get("properties", {}))
        if not known:
            return out
        for key, item in value.items():
            if key in known:
                out += _unknown_keys(item, known[key], root, (*path, key))
            else:
                out.append(((*path, key), f"unknown key '{key}' in Ignition"))
    elif isinstance(value, list):
        items = [b["items"] for b in schemas if isinstance(b.get("items"), dict)]
        for i, item in enumerate(value):
            for each in items:
                out += _unknown_keys(item, each, root, (*path, i))
    return out


def _branches(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """``schema`` with its ``$ref`` followed, and each of its ``allOf`` branches."""
    while "$ref" in schema:
        schema = _resolve(schema["$ref"], root)
    yield schema
    for branch in schema.get("allOf", ()):
        yield from _branches(branch, root)


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A local JSON pointer (``#/definitions/…``), the only kind Ignition's schemas use."""
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    resolved: Mapping[str, Any] = target
    return resolved
