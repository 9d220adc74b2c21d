"""The boot URL machines are given: derived from the provisioning network, never a
loopback address unless the person says so."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.boot.reach import NoBootURL, boot_url, local_addresses
from strata.cli.app import cli
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
PROVISIONING = load(ROOT / "examples/lab/topology.yaml").networks["provisioning"]  # 192.168.110/24
HOST = {
    "lo": [ip_address("127.0.0.1"), ip_address("::1")],
    "eth0": [ip_address("10.0.0.5")],
    "prov0": [ip_address("192.168.110.1"), ip_address("fe80::1")],
}


def test_listening_on_every_address_gives_the_address_on_the_provisioning_network() -> None:
    chosen = boot_url("0.0.0.0", 8080, PROVISIONING, addresses=HOST)
    assert chosen.url == "http://192.168.110.1:8080"
    assert chosen.how == "the address of prov0 on provisioning" and chosen.warning is None
    assert boot_url("::", 8080, PROVISIONING, addresses=HOST).url == "http://192.168.110.1:8080"


def test_the_dhcp_interface_decides_and_must_be_on_the_network() -> None:
    chosen = boot_url("0.0.0.0", 80, PROVISIONING, dhcp_interface="prov0", addresses=HOST)
    assert chosen.url == "http://192.168.110.1:80"
    with pytest.raises(NoBootURL, match="eth0 has no address on provisioning"):
        boot_url("0.0.0.0", 80, PROVISIONING, dhcp_interface="eth0", addresses=HOST)


def test_no_address_on_the_network_is_refused_with_what_there_is() -> None:
    host = {k: v for k, v in HOST.items() if k != "prov0"}
    with pytest.raises(NoBootURL, match=r"no address on provisioning \(192.168.110.0/24\)") as e:
        boot_url("0.0.0.0", 8080, PROVISIONING, addresses=host)
    assert "eth0 10.0.0.5" in str(e.value) and "--url" in e.value.hint


def test_a_loopback_listen_address_is_never_handed_to_machines() -> None:
    with pytest.raises(NoBootURL, match="cannot reach it") as e:
        boot_url("127.0.0.1", 8080, PROVISIONING, addresses=HOST)
    assert "--url http://127.0.0.1:8080" in e.value.hint


def test_a_loopback_url_is_taken_when_given_and_says_who_cannot_reach_it() -> None:
    chosen = boot_url("127.0.0.1", 8080, PROVISIONING, url="http://127.0.0.1:8080/")
    assert chosen.url == "http://127.0.0.1:8080"
    assert chosen.warning is not None and "none on provisioning" in chosen.warning
    given = boot_url("0.0.0.0", 8080, PROVISIONING, url="http://boot.example:8080")
    assert given.warning is None and given.how == "--url"


@pytest.mark.parametrize("url", ["ftp://192.168.110.1/", "192.168.110.1:8080", "http://"])
def test_a_url_machines_cannot_fetch_from_is_refused(url: str) -> None:
    with pytest.raises(NoBootURL, match="not an http"):
        boot_url("0.0.0.0", 8080, PROVISIONING, url=url)


def test_a_specific_listen_address_is_the_url_and_ipv6_is_bracketed() -> None:
    assert boot_url("192.168.110.1", 8080, PROVISIONING).url == "http://192.168.110.1:8080"
    assert boot_url("fd00::1", 8080, PROVISIONING).url == "http://[fd00::1]:8080"


def test_this_hosts_addresses_include_loopback() -> None:
    assert any(a.is_loopback for addresses in local_addresses().values() for a in addresses)


def test_serve_says_why_there_is_no_url_and_exits_2(tmp_path: Path) -> None:
    """No address of this host is in TEST-NET-2 (RFC 5737): serve refuses to start."""
    file = tmp_path / "topology.yaml"
    file.write_text(
        (ROOT / "examples/lab/topology.yaml").read_text().replace("192.168.110.", "198.51.100.")
    )
    result = CliRunner().invoke(cli, ["serve", "-f", str(file), "--listen", "0.0.0.0:8080"])
    assert result.exit_code == 2, result.output
    assert "this host has no address on provisioning (198.51.100.0/24)" in result.output
    assert "hint: " in result.output and "Traceback" not in result.output
