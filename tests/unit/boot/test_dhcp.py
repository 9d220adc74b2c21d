"""The dnsmasq configuration: reservations, the PXE chain, proxy mode; dnsmasq's own --test accepts it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from strata.boot.dhcp import DHCPConfig, Dnsmasq, render
from strata.plan import build_plan
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
TOPOLOGY = load(ROOT / "examples/lab/topology.yaml")
PLAN = build_plan(TOPOLOGY)


def config(tmp_path: Path, proxy: bool = False) -> DHCPConfig:
    return DHCPConfig(
        "br-prov",
        TOPOLOGY.networks["provisioning"],
        "http://192.168.110.2:8080",
        tmp_path,
        proxy=proxy,
    )


def test_full_dhcp(tmp_path: Path) -> None:
    conf, hosts = render(PLAN, config(tmp_path))
    lines = conf.splitlines()
    for expected in (
        "interface=br-prov",
        "dhcp-range=192.168.110.100,192.168.110.199,255.255.255.0,12h",
        "dhcp-option=option:router,192.168.110.1",
        "dhcp-option=option:dns-server,192.168.110.1",
        "dhcp-match=set:ipxe,175",
        "dhcp-boot=tag:ipxe,http://192.168.110.2:8080/boot.ipxe",
        "dhcp-match=set:arch7,option:client-arch,7",
        "dhcp-boot=tag:!ipxe,tag:arch0,undionly.kpxe",
        "dhcp-boot=tag:!ipxe,tag:!arch,undionly.kpxe",  # PXE without option 93 is BIOS
        "dhcp-boot=tag:!ipxe,tag:arch7,ipxe.efi",
        "dhcp-boot=tag:!ipxe,tag:arch9,ipxe.efi",
        # UEFI HTTP Boot: an http:// URL and HTTPClient in option 60
        "dhcp-boot=tag:!ipxe,tag:arch16,http://192.168.110.2:8080/firmware/ipxe.efi",
        "dhcp-option-force=tag:arch16,option:vendor-class,HTTPClient",
        "tftp-root=/usr/lib/ipxe",
    ):
        assert expected in lines
    for refused in (6, 10, 11, 15, 19):  # no iPXE binary: no boot file at all (not a BIOS one)
        assert not any(line.startswith("dhcp-boot") and f"arch{refused}," in line for line in lines)
    assert hosts.splitlines() == [
        "52:54:00:10:00:01,192.168.110.11,lab-cp-0",
        "52:54:00:10:00:02,192.168.110.12,lab-worker-0",
        "52:54:00:10:00:03,192.168.110.13,lab-worker-1",
    ]


def test_proxy_mode_hands_out_no_addresses(tmp_path: Path) -> None:
    conf, _ = render(PLAN, config(tmp_path, proxy=True))
    assert "dhcp-range=192.168.110.0,proxy,255.255.255.0" in conf
    assert 'pxe-service=tag:ipxe,x86PC,"Strata",http://192.168.110.2:8080/boot.ipxe' in conf
    assert 'pxe-service=tag:!ipxe,BC_EFI,"Strata: iPXE",ipxe.efi' in conf  # arch 7, too
    assert "ARM64_EFI" not in conf  # refused: no binary
    assert "dhcp-boot" not in conf and "dhcp-option=option:router" not in conf


@pytest.mark.parametrize("proxy", [False, True])
def test_dnsmasq_accepts_the_config(tmp_path: Path, proxy: bool) -> None:
    assert shutil.which("dnsmasq"), (
        "dnsmasq is missing: ./dev test installs it (apt-get install dnsmasq-base)"
    )
    dnsmasq = Dnsmasq(config(tmp_path, proxy))
    assert dnsmasq.write(PLAN) is True
    assert dnsmasq.check() is None
    assert dnsmasq.write(PLAN) is False  # unchanged: a SIGHUP will do


def test_dnsmasq_check_can_fail(tmp_path: Path) -> None:
    dnsmasq = Dnsmasq(config(tmp_path))
    dnsmasq.write(PLAN)
    dnsmasq.conf_path.write_text(dnsmasq.conf_path.read_text() + "dhcp-boot-nonsense=1\n")
    assert dnsmasq.check()
