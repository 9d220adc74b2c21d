"""Strata's verdict on a fragment agrees with Ignition's own validator (Debian's
ignition-validate, Ignition 2.14, specs up to 3.3.0): what Ignition refuses — or warns
about, as it does for an unknown key — Strata refuses at `strata validate`, and what
Ignition accepts Strata accepts. Every fragment here uses only fields of spec 3.3.0,
which the 3.4.0 and 3.5.0 specs of the OS profiles keep."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from strata.ignition import PROFILES, fragment_problems

FRAGMENTS: dict[str, dict[str, Any]] = {
    "a file, a directory, a link, a unit": {
        "storage": {
            "files": [{"path": "/etc/motd", "mode": 420, "contents": {"source": "data:,hi"}}],
            "directories": [{"path": "/var/lib/app", "mode": 493}],
            "links": [{"path": "/etc/localtime", "target": "/usr/share/zoneinfo/UTC"}],
        },
        "systemd": {
            "units": [
                {
                    "name": "app.service",
                    "enabled": True,
                    "contents": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
                }
            ]
        },
    },
    "a user, a group, a filesystem": {
        "passwd": {"users": [{"name": "ops"}], "groups": [{"name": "ops"}]},
        "storage": {"filesystems": [{"device": "/dev/sdb", "format": "xfs", "path": "/var/data"}]},
    },
    "a gzip file with a sha512 hash": {
        "storage": {
            "files": [
                {
                    "path": "/a",
                    "contents": {
                        "source": "https://example.com/a.gz",
                        "compression": "gzip",
                        "verification": {"hash": "sha512-" + "0" * 128},
                    },
                }
            ]
        }
    },
    "an unknown key": {"storag": {}},
    "an unknown key in a file": {"storage": {"files": [{"path": "/a", "contnts": {}}]}},
    "a mode as a string": {"storage": {"files": [{"path": "/a", "mode": "0644"}]}},
    "a mode past 07777": {"storage": {"files": [{"path": "/a", "mode": 99999}]}},
    "a relative path": {"storage": {"files": [{"path": "etc/motd"}]}},
    "a path twice": {"storage": {"files": [{"path": "/a"}], "directories": [{"path": "/a"}]}},
    "a link without target": {"storage": {"links": [{"path": "/a"}]}},
    "an ntfs filesystem": {"storage": {"filesystems": [{"device": "/dev/sdb", "format": "ntfs"}]}},
    "a relative mount path": {
        "storage": {"filesystems": [{"device": "/dev/sdb", "format": "ext4", "path": "var"}]}
    },
    "a relative disk": {"storage": {"disks": [{"device": "sdb"}]}},
    "a URL scheme": {"storage": {"files": [{"path": "/a", "contents": {"source": "nope://x"}}]}},
    "a hash function": {
        "storage": {
            "files": [
                {"path": "/a", "contents": {"source": "data:,x", "verification": {"hash": "md5-a"}}}
            ]
        }
    },
    "a compression": {
        "storage": {
            "files": [{"path": "/a", "contents": {"source": "data:,x", "compression": "zip"}}]
        }
    },
    "a unit name without type": {"systemd": {"units": [{"name": "app"}]}},
    "a drop-in name": {"systemd": {"units": [{"name": "a.service", "dropins": [{"name": "x"}]}]}},
    "a user twice": {"passwd": {"users": [{"name": "a"}, {"name": "a"}]}},
    "a group twice": {"passwd": {"groups": [{"name": "g"}, {"name": "g"}]}},
    "a kernel argument both ways": {
        "kernelArguments": {"shouldExist": ["a"], "shouldNotExist": ["a"]}
    },
    "a section of the wrong type": {"systemd": "app.service"},
}


def ignition_accepts(fragment: dict[str, Any], tmp_path: Path) -> bool:
    tool = shutil.which("ignition-validate")
    assert tool, "ignition-validate is missing: ./dev test installs it (apt-get install ignition)"
    path = tmp_path / "fragment.ign"
    path.write_text(json.dumps({**fragment, "ignition": {"version": "3.3.0"}}))
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode == 0 and not (result.stdout + result.stderr).strip()


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_strata_and_ignition_agree(name: str, tmp_path: Path) -> None:
    fragment = FRAGMENTS[name]
    ignition = ignition_accepts(fragment, tmp_path)
    for os_name in sorted(PROFILES):
        problems = fragment_problems(fragment, os_name)
        assert (not problems) == ignition, (os_name, problems)
