"""When root device hints choose the disk, the live config finds it on the machine and installs
exactly there — or reports why not and installs nothing. The generated install script is run
by dash against a fake machine, with stand-ins for curl and the installers that record their
arguments."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from strata.ignition import PROFILES, BuildError, final_config, install_device, live_config
from strata.ignition.install import hints_text, resolver_script, resolves_root_device
from strata.plan import NodePlan
from tests.unit.ignition.examples import as_os, callbacks, plans
from tests.unit.ignition.fake_disks import Machine
from tests.unit.ignition.test_root_device_script import boot_module, data_disk

SERIAL = "S45NNE0M123456"  # the hinted 960 GB disk, second on the bus


def hinted(os_name: str, **hints: Any) -> NodePlan:
    plan = as_os(plans("lab")[0], os_name)
    return dataclasses.replace(
        plan, install_disk=None, root_device_hints=hints or {"serialNumber": SERIAL}
    )


def files(config: dict[str, Any]) -> dict[str, tuple[int, str]]:
    out = {}
    for entry in config["storage"]["files"]:
        source: str = entry["contents"]["source"]
        if source.startswith("data:;base64,"):
            text = base64.b64decode(source.split(",", 1)[1]).decode()
        else:
            text = unquote(source.split(",", 1)[1])
        out[entry["path"]] = (entry["mode"], text)
    return out


def live(plan: NodePlan) -> dict[str, Any]:
    hooks = callbacks(plan, plan.os_name)
    profile = PROFILES[plan.os_name]
    return live_config(plan, profile, final_config(plan, profile, (), hooks), hooks)


def test_only_hints_beyond_a_device_name_are_resolved_on_the_machine() -> None:
    named = hinted("flatcar", deviceName="/dev/disk/by-path/pci-0000:00:17.0-ata-2")
    assert not resolves_root_device(named)
    assert install_device(named) == "/dev/disk/by-path/pci-0000:00:17.0-ata-2"
    chosen = hinted("flatcar", deviceName="/dev/sdb", serialNumber=SERIAL)
    assert resolves_root_device(chosen) and install_device(chosen) is None
    assert not resolves_root_device(plans("lab")[0])  # installDisk: /dev/vda


@pytest.mark.parametrize(("os_name", "base"), [("flatcar", "/opt/strata"), ("fcos", "/etc/strata")])
def test_the_live_config_carries_the_resolver_the_hints_and_the_install(
    os_name: str, base: str
) -> None:
    config = live(hinted(os_name, serialNumber=SERIAL, minSizeGigabytes=400))
    found = files(config)
    assert found[f"{base}/root-device"] == (0o755, resolver_script())
    assert found[f"{base}/root-device.hints"] == (
        0o644,
        f"serialNumber={SERIAL}\nminSizeGigabytes=400\n",
    )
    assert found[f"{base}/final.ign"][0] == 0o600
    assert json.loads(found[f"{base}/final.ign"][1])["ignition"]["version"]
    (install_unit,) = config["systemd"]["units"]
    assert f"ExecStart={base}/install\n" in install_unit["contents"]
    mode, script = found[f"{base}/install"]
    assert mode == 0o700 and " -s" not in script  # never the smallest disk


def test_a_control_character_in_a_hint_is_refused() -> None:
    with pytest.raises(ValueError, match="control character"):
        hints_text({"model": "X\nserialNumber=Y"})
    with pytest.raises(BuildError, match=r"rootDeviceHints\.model holds a control character"):
        live(hinted("flatcar", model="X\nrotational=true"))


# --- the install script, run ----------------------------------------------------


def run_install(tmp_path: Path, plan: NodePlan, machine: Machine) -> tuple[int, list[str]]:
    """Run the live config's install script by dash: the resolver against ``machine``,
    curl and the installer as stand-ins that append their argv to ``calls``."""
    config = live(plan)
    base = "/opt/strata" if plan.os_name == "flatcar" else "/etc/strata"
    where = tmp_path / "live"
    where.mkdir()
    for path, (mode, text) in files(config).items():
        (where / Path(path).name).write_text(text)
        (where / Path(path).name).chmod(mode)  # as Ignition writes it
    calls = tmp_path / "calls"
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for tool in ("curl", "flatcar-install", "coreos-installer", "udevadm"):
        (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {shlex.quote(str(calls))}\n')
        (stubs / tool).chmod(0o755)
    script = (where / "install").read_text().replace(base, str(where))
    script = script.replace("/usr/bin/", f"{stubs}/")
    (where / "install").write_text(script)
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "STRATA_SYSFS": str(machine.root / "sys"),
        "STRATA_DEVDIR": str(machine.root / "dev"),
        "STRATA_UDEVDB": str(machine.root / "udev"),
    }
    done = subprocess.run(
        ["dash", str(where / "install")], env=env, capture_output=True, text=True, timeout=30
    )
    return done.returncode, calls.read_text().splitlines() if calls.exists() else []


def two_disks(tmp_path: Path) -> Machine:
    return Machine(tmp_path / "machine", [boot_module(), data_disk()]).build()


def test_flatcar_installs_to_exactly_the_hinted_disk(tmp_path: Path) -> None:
    status, calls = run_install(tmp_path, hinted("flatcar"), two_disks(tmp_path))
    assert status == 0
    assert calls == [
        "udevadm settle --timeout=120",
        "flatcar-install -d /dev/disk/by-id/wwn-0x5002538e40a1b2c3 -C stable -V 4081.2.0 "
        f"-b http://10.0.0.1:8080/assets/flatcar -i {tmp_path}/live/final.ign",
    ]


def test_coreos_installer_runs_from_the_live_config(tmp_path: Path) -> None:
    status, calls = run_install(tmp_path, hinted("fcos"), two_disks(tmp_path))
    assert status == 0
    assert calls == [
        "udevadm settle --timeout=120",
        "coreos-installer install /dev/disk/by-id/wwn-0x5002538e40a1b2c3 --ignition-file "
        f"{tmp_path}/live/final.ign --image-url http://10.0.0.1:8080/assets/fcos/41.20241109.3.0/"
        "fedora-coreos-41.20241109.3.0-metal.x86_64.raw.xz --fetch-retries infinite",
    ]


@pytest.mark.parametrize(
    ("hints", "event"),
    [
        ({"serialNumber": "NOT-THERE"}, "root-device-not-found"),
        ({"rotational": False}, "root-device-ambiguous"),
    ],
)
@pytest.mark.parametrize("os_name", ["flatcar", "rhcos"])
def test_no_disk_or_several_report_and_install_nothing(
    tmp_path: Path, os_name: str, hints: dict[str, Any], event: str
) -> None:
    plan = hinted(os_name, **hints)
    status, calls = run_install(tmp_path, plan, two_disks(tmp_path))
    assert status == 1
    url = f"http://10.0.0.1:8080/events/{plan.name}?token=tok-{plan.name}&event={event}"
    assert calls == [
        "udevadm settle --timeout=120",
        f"curl --fail --silent --show-error --retry 10 --retry-delay 5 -X POST {url}",
    ]
