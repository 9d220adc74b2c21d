"""Network files for each OS, and the iPXE boot recipe."""

from __future__ import annotations

import base64
import dataclasses
from urllib.parse import unquote

import pytest

from strata.ignition import PROFILES, BuildError, disk_script, install_script
from strata.ignition.network import network_files
from strata.plan import InterfacePlan
from tests.unit.ignition.examples import plans, urls

STATIC = InterfacePlan(
    "eno1",
    "52:54:00:10:00:01",
    "prov",
    "10.0.1.11/24",
    "10.0.1.1",
    ("10.0.1.2", "10.0.1.3"),
    None,
    9000,
)
DHCP = InterfacePlan(None, "52:54:00:10:00:02", "prov", None, None, (), None, None)
V6 = InterfacePlan(
    "eno2", "52:54:00:10:00:03", "v6", "2001:db8::11/64", "2001:db8::1", (), None, None
)


def text(entry: dict[str, object]) -> str:
    """Decode an RFC 2397 data URL, either form the builder chose."""
    source: str = entry["contents"]["source"]  # type: ignore[index]
    if source.startswith("data:;base64,"):
        return base64.b64decode(source[len("data:;base64,") :]).decode()
    assert source.startswith("data:,")
    return unquote(source[len("data:,") :])


def test_networkd_for_flatcar() -> None:
    static, dhcp = network_files("networkd", (STATIC, DHCP))
    assert static["path"] == "/etc/systemd/network/10-strata-eno1.network"
    assert text(static) == (
        "[Match]\nMACAddress=52:54:00:10:00:01\n\n[Network]\nAddress=10.0.1.11/24\nGateway=10.0.1.1\n"
        "DNS=10.0.1.2\nDNS=10.0.1.3\n\n[Link]\nMTUBytes=9000\n"
    )
    assert dhcp["path"] == "/etc/systemd/network/10-strata-nic1.network"
    assert "DHCP=yes" in text(dhcp)


def test_keyfiles_for_coreos() -> None:
    static, dhcp, v6 = network_files("nm-keyfile", (STATIC, DHCP, V6))
    assert (static["path"], static["mode"]) == (
        "/etc/NetworkManager/system-connections/eno1.nmconnection",
        0o600,
    )
    body = text(static)
    assert "mac-address=52:54:00:10:00:01" in body and "mtu=9000" in body
    assert "[ipv4]\nmethod=manual\naddress1=10.0.1.11/24,10.0.1.1\ndns=10.0.1.2;10.0.1.3;" in body
    assert body.endswith("[ipv6]\nmethod=disabled\n")
    assert "[ipv4]\nmethod=auto" in text(dhcp)
    assert "[ipv6]\nmethod=manual\naddress1=2001:db8::11/64,2001:db8::1" in text(v6)


def test_flatcar_recipe() -> None:
    plan = plans("lab")[0]
    script = install_script(plan, PROFILES["flatcar"], urls(plan, "flatcar"))
    lines = script.splitlines()
    assert lines[0] == "#!ipxe"
    assert lines[2].startswith(
        "kernel http://10.0.0.1:8080/assets/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz initrd=main "
    )
    assert "flatcar.first_boot=1" in lines[2]
    assert (
        "ignition.config.url=http://10.0.0.1:8080/ignition/lab-cp-0?token=live-lab-cp-0" in lines[2]
    )
    assert (
        lines[3]
        == "initrd --name main http://10.0.0.1:8080/assets/flatcar/4081.2.0/flatcar_production_pxe_image.cpio.gz"
    )
    assert lines[4] == "boot"


CORE = [
    ("fcos", "41.20241109.3.0", "fedora-coreos-"),
    ("rhcos", "416.94.202405291527-0", "rhcos-"),
]


@pytest.mark.parametrize(("os_name", "version", "prefix"), CORE)
def test_coreos_recipe_installs_with_coreos_installer(
    os_name: str, version: str, prefix: str
) -> None:
    plan = dataclasses.replace(plans("lab")[0], os_name=os_name, os_version=version)
    script = install_script(plan, PROFILES[os_name], urls(plan, os_name))
    kernel = script.splitlines()[2]
    assert f"/{prefix}{version}" in kernel
    for arg in (
        "ignition.firstboot",
        "ignition.platform.id=metal",
        "coreos.inst.install_dev=/dev/vda",
        "coreos.inst.ignition_url=http://10.0.0.1:8080/ignition/lab-cp-0?token=final-lab-cp-0",
        "coreos.live.rootfs_url=http://10.0.0.1:8080/assets/",
    ):
        assert arg in kernel


@pytest.mark.parametrize(("os_name", "version", "prefix"), CORE)
def test_coreos_with_hints_boots_live_and_leaves_the_install_to_the_live_config(
    os_name: str, version: str, prefix: str
) -> None:
    """The issue's FCOS node with hints and no device name: served, not refused at boot;
    coreos-installer runs from the live config once the machine has found its disk."""
    plan = dataclasses.replace(
        plans("lab")[0],
        os_name=os_name,
        os_version=version,
        install_disk=None,
        root_device_hints={"serialNumber": "S45NNE0M123456"},
    )
    kernel = install_script(plan, PROFILES[os_name], urls(plan, os_name)).splitlines()[2]
    assert "coreos.live.rootfs_url=http://10.0.0.1:8080/assets/" in kernel
    assert "ip=dhcp rd.neednet=1" in kernel
    assert "coreos.inst." not in kernel  # coreos-installer.service stays idle


def test_coreos_needs_a_device_or_hints() -> None:
    plan = dataclasses.replace(
        plans("lab")[0],
        os_name="fcos",
        os_version="41.20241109.3.0",
        install_disk=None,
        root_device_hints=None,
    )
    with pytest.raises(BuildError, match=r"set installDisk, rootDeviceHints or the node.s disks"):
        install_script(plan, PROFILES["fcos"], urls(plan, "fcos"))


def test_a_release_no_spec_3_config_serves_is_refused_at_the_recipe() -> None:
    plan = dataclasses.replace(plans("lab")[0], os_version="3139.2.0")
    with pytest.raises(BuildError, match=r"Flatcar 3139\.2\.0 reads no Ignition spec 3 config"):
        install_script(plan, PROFILES["flatcar"], urls(plan, "flatcar"))


def test_a_url_that_would_break_the_script_is_refused() -> None:
    plan = plans("lab")[0]
    bad = dataclasses.replace(urls(plan, "flatcar"), live_config="http://x/ig?a=1&&reboot")
    with pytest.raises(BuildError, match="cannot stand in a boot script"):
        install_script(plan, PROFILES["flatcar"], bad)


def test_disk_script() -> None:
    assert disk_script(plans("lab")[0]).splitlines() == [
        "#!ipxe",
        "# Strata: lab-cp-0 is provisioned: boot from disk",
        "exit",
    ]
