"""A fragment from topology.yaml is checked as Ignition for the node's OS before it is merged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strata.ignition import PROFILES, fragment_problems
from strata.ignition.fragment import _validator
from strata.ignition.spec import SPECS
from tests.support.shared import shared

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "src" / "strata" / "ignition" / "schemas"


def messages(
    fragment: dict[str, Any], os_name: str = "flatcar", os_version: str | None = None
) -> dict[str, str]:
    return {
        ".".join(map(str, path)): problem
        for path, problem in fragment_problems(fragment, os_name, os_version)
    }


@pytest.mark.parametrize("version", SPECS)
def test_every_spec_strata_writes_has_its_official_schema(version: str) -> None:
    name = f"v{version.rsplit('.', 1)[0].replace('.', '_')}.json"
    assert (SCHEMA_DIR / name).read_text() == shared("schemas", "ignition", name).read_text()
    assert _validator(version).schema["title"] == "ignition"
    assert {p.ignition_version for p in PROFILES.values()} <= set(SPECS)


def test_a_valid_fragment_has_no_problems() -> None:
    fragment = {
        "ignition": {"version": "3.4.0"},
        "storage": {
            "files": [
                {
                    "path": "/etc/motd",
                    "mode": 420,
                    "overwrite": True,
                    "contents": {"source": "data:,hi"},
                }
            ],
            "links": [
                {"path": "/etc/localtime", "target": "/usr/share/zoneinfo/UTC", "hard": False}
            ],
            "directories": [{"path": "/var/lib/app", "mode": 493}],
        },
        "systemd": {"units": [{"name": "app.service", "enabled": True, "contents": "[Unit]"}]},
        "passwd": {
            "users": [
                {"name": "ops", "groups": ["wheel"], "sshAuthorizedKeys": ["ssh-ed25519 AAAA"]}
            ]
        },
    }
    for os_name in PROFILES:
        assert fragment_problems(fragment, os_name) == []


def test_types_and_required_keys() -> None:
    found = messages({"storage": {"files": [{"mode": "0644"}]}, "systemd": "app.service"})
    assert found == {
        "storage.files.0.mode": "must be integer",
        "storage.files.0": "'path' is a required property",
        "systemd": "must be object",
    }


def test_unknown_keys_are_found_through_refs_and_allof() -> None:
    found = messages({"storag": {}, "storage": {"files": [{"path": "/a", "contnts": {}}]}})
    assert found == {
        "storag": "unknown key 'storag' in Ignition",
        "storage.files.0.contnts": "unknown key 'contnts' in Ignition",
    }


def test_a_key_newer_than_the_nodes_spec_is_named_with_its_spec() -> None:
    """Spec 3.5.0 knows storage.luks[].cex; Flatcar 4081.2.0 reads up to 3.4.0, 4152.2.0 3.5.0."""
    fragment = {
        "storage": {"luks": [{"name": "data", "device": "/dev/sdb", "cex": {"enabled": True}}]}
    }
    assert messages(fragment, "fcos", "41.20241109.3.0") == {}
    assert messages(fragment, "flatcar", "4152.2.0") == {}
    assert messages(fragment, "flatcar", "4081.2.0") == {
        "storage.luks.0.cex": "'cex' is Ignition spec 3.5.0; flatcar 4081.2.0 reads up to 3.4.0"
    }


def test_the_ignition_section_is_stratas() -> None:
    found = messages({"ignition": {"version": "2.2.0", "config": {"merge": []}}})
    assert found == {
        "ignition.config": "is set by Strata; a fragment may only give ignition.version",
        "ignition.version": "a fragment is Ignition spec 3.x",
    }


def test_ignitions_own_checks_run_on_a_well_formed_fragment() -> None:
    found = messages(
        {
            "storage": {
                "files": [{"path": "etc/motd"}, {"path": "/a", "mode": 0o10000}],
                "links": [{"path": "/a"}],
                "filesystems": [{"device": "/dev/sdb", "format": "ntfs"}],
            },
            "systemd": {"units": [{"name": "app", "dropins": [{"name": "override"}]}]},
        },
        "fcos",
    )
    assert found == {
        "storage.files.0.path": "path 'etc/motd' is not absolute",
        "storage.files.1.mode": "is not a file mode (0 to 0o7777)",
        "storage.links.0.path": "path '/a' is configured twice",
        "storage.links.0.target": "a link needs a target",
        "storage.filesystems.0.format": "is not a format Ignition makes "
        "(btrfs, ext4, none, swap, vfat, xfs)",
        "systemd.units.0.name": "'app' is not a unit name",
        "systemd.units.0.dropins.0.name": "'override' is not a drop-in name (NAME.conf)",
    }


def test_semantic_checks_never_quote_a_url_or_a_hash() -> None:
    source = "s3cret://user:pw@host/x"
    found = messages(
        {
            "storage": {
                "files": [
                    {
                        "path": "/a",
                        "contents": {
                            "source": source,
                            "compression": "zip",
                            "verification": {"hash": "md5-0123abcd"},
                        },
                    }
                ]
            }
        }
    )
    assert set(found) == {
        "storage.files.0.contents.source",
        "storage.files.0.contents.compression",
        "storage.files.0.contents.verification.hash",
    }
    assert source not in str(found) and "0123abcd" not in str(found)


secrets = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789$./", min_size=12, max_size=24)


@settings(max_examples=80, deadline=None)
@given(secret=secrets, where=st.sampled_from(["mode", "path", "passwordHash", "source", "name"]))
def test_no_message_quotes_a_value(secret: str, where: str) -> None:
    placed = {
        "mode": {"storage": {"files": [{"path": "/a", "mode": secret}]}},
        "path": {"storage": {"files": [{"path": 7, "contents": secret}]}},
        "passwordHash": {"passwd": {"users": [{"name": "ops", "passwordHash": [secret]}]}},
        "source": {"storage": {"files": [{"path": "/a", "contents": {"source": {secret: 1}}}]}},
        "name": {"systemd": {"units": [{"name": 5, secret: True}]}},
    }[where]
    problems = fragment_problems(placed, "flatcar")
    assert problems
    assert secret not in json.dumps(problems) or where == "name"  # an unknown key is named
