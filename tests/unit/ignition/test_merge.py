"""Ignition's merge rules: keyed lists merge entry by entry, scalars are replaced, plain lists unite."""

from __future__ import annotations

from strata.ignition import merge


def test_keyed_entries_merge_and_others_append() -> None:
    parent = {
        "ignition": {"version": "3.4.0"},
        "storage": {"files": [{"path": "/etc/a", "mode": 420}, {"path": "/etc/b", "mode": 420}]},
    }
    child = {
        "ignition": {"version": "3.3.0"},
        "storage": {
            "files": [{"path": "/etc/b", "mode": 384, "overwrite": True}, {"path": "/etc/c"}]
        },
    }
    merged = merge(parent, child)
    assert merged["ignition"] == {"version": "3.4.0"}  # the parent's
    assert merged["storage"]["files"] == [
        {"path": "/etc/a", "mode": 420},
        {"path": "/etc/b", "mode": 384, "overwrite": True},
        {"path": "/etc/c"},
    ]
    assert parent["storage"]["files"][1] == {"path": "/etc/b", "mode": 420}  # inputs untouched


def test_units_and_their_dropins_merge_by_name() -> None:
    parent = {
        "systemd": {
            "units": [
                {
                    "name": "a.service",
                    "enabled": True,
                    "dropins": [{"name": "10.conf", "contents": "x"}],
                }
            ]
        }
    }
    child = {
        "systemd": {
            "units": [
                {
                    "name": "a.service",
                    "enabled": False,
                    "dropins": [{"name": "10.conf", "contents": "y"}, {"name": "20.conf"}],
                }
            ]
        }
    }
    unit = merge(parent, child)["systemd"]["units"][0]
    assert unit["enabled"] is False
    assert unit["dropins"] == [{"name": "10.conf", "contents": "y"}, {"name": "20.conf"}]


def test_ssh_keys_unite() -> None:
    parent = {"passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["k1", "k2"]}]}}
    child = {
        "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["k2", "k3"]}, {"name": "ops"}]}
    }
    users = merge(parent, child)["passwd"]["users"]
    assert users == [{"name": "core", "sshAuthorizedKeys": ["k1", "k2", "k3"]}, {"name": "ops"}]
