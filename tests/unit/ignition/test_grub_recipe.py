"""The GRUB config for a boot recipe (virtual media on UEFI): the same kernel, initrd and
arguments as the iPXE script, in GRUB's words."""

from __future__ import annotations

import dataclasses
import shlex

import pytest

from strata.ignition import PROFILES, BuildError, install_script
from strata.ignition.recipe import disk_grub, grub_config, grub_path, install_recipe
from tests.unit.ignition.examples import VERSIONS, plans, urls


@pytest.mark.parametrize("os_name", sorted(PROFILES))
def test_grub_boots_what_ipxe_boots(os_name: str) -> None:
    plan = dataclasses.replace(plans("lab")[0], os_name=os_name, os_version=VERSIONS[os_name])
    profile, where = PROFILES[os_name], urls(plan, os_name)
    ipxe = install_script(plan, profile, where).splitlines()
    grub = grub_config(install_recipe(plan, profile, where), "52:54:00:10:00:01").splitlines()
    kernel, *ipxe_args = ipxe[2].split()[1:]
    linux = shlex.split(grub[2])  # single quotes: as GRUB reads them
    assert linux[0] == "linux"
    assert linux[1] == grub_path(kernel)
    assert linux[2:] == [
        "BOOTIF=01-52-54-00-10-00-01" if a.startswith("BOOTIF=") else a
        for a in ipxe_args
        if a != "initrd=main"  # iPXE's name for its initrd: GRUB gives it by `initrd`
    ]
    assert shlex.split(grub[3]) == ["initrd", grub_path(ipxe[3].split()[-1])]
    assert grub[4] == "boot" and "$" not in "\n".join(grub)


def test_grub_path_keeps_port_path_and_query() -> None:
    assert grub_path("http://10.0.0.1:8080/assets/a.img?node=n&token=t") == (
        "(http,10.0.0.1:8080)/assets/a.img?node=n&token=t"
    )
    assert grub_path("http://boot.example") == "(http,boot.example)/"


@pytest.mark.parametrize("url", ["https://10.0.0.1/a", "tftp://10.0.0.1/a", "/a"])
def test_grub_reads_plain_http_only(url: str) -> None:
    with pytest.raises(BuildError, match="GRUB reads plain http://"):
        grub_path(url)


def test_a_quote_cannot_end_a_grub_word() -> None:
    plan = plans("lab")[0]
    bad = dataclasses.replace(urls(plan, "flatcar"), live_config="http://x/ig?a='; reboot")
    with pytest.raises(BuildError, match="cannot stand in a boot script"):
        install_recipe(plan, PROFILES["flatcar"], bad)


def test_disk_grub_hands_back_to_the_firmware() -> None:
    assert disk_grub(plans("lab")[0]).splitlines() == [
        "# Strata: lab-cp-0 is provisioned: boot from disk",
        "exit",
    ]


def test_a_refused_url_is_named_without_its_tokens() -> None:
    plan = plans("lab")[0]
    bad = dataclasses.replace(urls(plan, "flatcar"), live_config="http://x/ig?token=SECRET&&x")
    with pytest.raises(BuildError) as refused:
        install_recipe(plan, PROFILES["flatcar"], bad)
    assert "SECRET" not in str(refused.value) and "http://x/ig?…" in str(refused.value)
    with pytest.raises(BuildError) as refused:
        grub_path("https://x/a?token=SECRET")
    assert "SECRET" not in str(refused.value)
