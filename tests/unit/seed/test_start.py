"""What `strata seed start` does before `strata apply`: the passphrase found where the
person put it, the run directory private and its topology pointed at the unsealed files,
each NIC found by MAC, and the apply command."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from strata.seed.payload import NetworkSide, build_payload, read_contents
from strata.seed.sealed import WrongPassphrase
from strata.seed.start import (
    NoPassphrase,
    apply_command,
    artifact_problems,
    cmdline_passphrase,
    network_step,
    open_secrets,
    prepare,
)
from strata.topology import check_file, load
from tests.unit.seed.conftest import FRAGMENT, PASSWORD

PHRASE = "correct horse battery"


def contents(file: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    _, payload = build_payload(file, load(file), scrypt_n=2**14, **kwargs)  # type: ignore[arg-type]
    return read_contents({k: v for k, v in payload.items() if isinstance(v, bytes)})


@pytest.mark.parametrize(
    ("cmdline", "found"),
    [
        ("BOOT_IMAGE=/live/vmlinuz boot=live strata.seed.passphrase=abc quiet", "abc"),
        ('boot=live strata.seed.passphrase="two words" quiet', "two words"),
        ("boot=live strata.seed.passphrase= quiet", ""),
        ("boot=live strata.seed.passphrasex=abc", None),
        ("boot=live", None),
    ],
)
def test_the_kernel_command_line_gives_the_passphrase(cmdline: str, found: str | None) -> None:
    assert cmdline_passphrase(cmdline) == found


def test_the_passphrase_comes_from_the_file_then_the_command_line_then_the_console(
    topology_file: Path, tmp_path: Path
) -> None:
    sealed = contents(topology_file, passphrase=PHRASE)
    phrase, line, nothing = tmp_path / "phrase", tmp_path / "cmdline", tmp_path / "none"
    phrase.write_text(PHRASE + "\n")
    line.write_text(f"boot=live strata.seed.passphrase='{PHRASE}'\n")
    nothing.write_text("boot=live\n")
    secrets, how = open_secrets(sealed, phrase, line, None)
    assert secrets.reveal("credentials/lab-bmc") == PASSWORD and "--passphrase-file" in how
    assert "kernel command line" in open_secrets(sealed, None, line, None)[1]
    assert "console" in open_secrets(sealed, None, nothing, lambda: PHRASE)[1]
    with pytest.raises(NoPassphrase, match="no passphrase was given") as caught:
        open_secrets(sealed, None, nothing, None)
    assert "kernel command line" in (caught.value.hint or "")
    with pytest.raises(WrongPassphrase):
        open_secrets(sealed, None, nothing, lambda: PHRASE + "x")


def test_clear_or_no_secrets_need_no_passphrase(topology_file: Path) -> None:
    secrets, how = open_secrets(contents(topology_file, plaintext=True), None, None, None)
    assert secrets.reveal("credentials/lab-bmc") == PASSWORD and "in clear" in how


def test_the_run_directory_is_private_and_its_topology_valid(
    topology_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sealed = contents(topology_file, passphrase=PHRASE)
    secrets, _ = open_secrets(sealed, None, None, lambda: PHRASE)
    run = prepare(sealed, secrets, tmp_path / "run")
    monkeypatch.delenv("STRATA_LAB_BMC_PASSWORD")  # the run reads the unsealed file
    for path in [run.root, *run.root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert (run.root / "secrets" / "lab-bmc").read_text() == PASSWORD + "\n"
    text = run.topology.read_text()
    assert PASSWORD not in text and "file: secrets/lab-bmc" in text
    assert "# A three-node lab" in text  # comments kept
    checked = check_file(run.topology)
    assert checked.topology is not None, checked.errors
    fragment = next(iter(run.root.glob("files/*")))
    assert fragment.read_text() == FRAGMENT and f"file: {fragment.relative_to(run.root)}" in text


def test_each_nic_is_found_by_its_mac() -> None:
    side = NetworkSide(
        "provisioning", "prov", "10.1.0.0/24", "eth0", "52:54:00:AA:00:01", "10.1.0.5/24"
    )
    links = {"lo": ("00:00:00:00:00:00", ["127.0.0.1"]), "ens3": ("52:54:00:aa:00:01", [])}
    step = network_step(side, links)
    assert step.interface == "ens3"  # the machine's own name, not the topology's
    assert step.commands[-1] == ("ip", "address", "add", "10.1.0.5/24", "dev", "ens3")
    done = network_step(side, {"ens3": ("52:54:00:aa:00:01", ["10.1.0.5"])})
    assert done.commands == () and "has 10.1.0.5/24" in done.line
    assert network_step(side, {"eth9": ("52:54:00:ff:ff:ff", [])}).interface is None
    unnamed = network_step(NetworkSide("bmc", "bmc", "10.0.0.0/24"), links)
    assert unnamed.interface is None and "nothing set up" in unnamed.line


def test_the_apply_command(topology_file: Path, tmp_path: Path) -> None:
    sealed = contents(topology_file, passphrase=PHRASE, node="lab-seed")
    run = prepare(sealed, open_secrets(sealed, None, None, lambda: PHRASE)[0], tmp_path / "run")
    command = apply_command(sealed.manifest, run, Path("/m/strata/artifacts"), "ens3")
    assert command[1:] == [
        "-m", "strata.cli.app", "apply", "-f", str(run.topology),
        "--state", str(run.root / "state" / "strata.db"),
        "--artifacts", "/m/strata/artifacts", "--dhcp-interface", "ens3", "--copy-credentials",
    ]  # fmt: skip
    assert os.path.isabs(command[0])


def test_at_the_console_a_mistyped_passphrase_is_asked_again(topology_file: Path) -> None:
    sealed = contents(topology_file, passphrase=PHRASE)
    typed = iter(["typo", PHRASE])
    secrets, how = open_secrets(sealed, None, None, lambda: next(typed))
    assert secrets.reveal("credentials/lab-bmc") == PASSWORD and "console" in how
    asked = []
    with pytest.raises(WrongPassphrase):
        open_secrets(sealed, None, None, lambda: asked.append(1) or "typo")  # type: ignore[func-returns-value]
    assert len(asked) == 3


def test_a_medium_written_short_is_told_and_stale_secrets_go(
    topology_file: Path, tmp_path: Path
) -> None:
    mirror = topology_file.parent / "artifacts" / "flatcar" / "4081.2.0"
    mirror.mkdir(parents=True)
    (mirror / "flatcar_production_pxe.vmlinuz").write_bytes(b"k" * 4096)
    sealed = contents(topology_file, plaintext=True, artifacts=topology_file.parent / "artifacts")
    medium = tmp_path / "strata"
    target = medium / sealed.manifest.artifacts[0].path
    assert artifact_problems(sealed.manifest, medium) == [
        f"{target.relative_to(medium)} is missing"
    ]
    target.parent.mkdir(parents=True)
    target.write_bytes(b"k" * 4000)
    assert artifact_problems(sealed.manifest, medium) == [
        f"{target.relative_to(medium)} has 4000 bytes, not 4096"
    ]
    target.write_bytes(b"k" * 4096)
    assert artifact_problems(sealed.manifest, medium) == []
    (tmp_path / "run" / "secrets").mkdir(parents=True)
    (tmp_path / "run" / "secrets" / "old-bmc").write_text("from another seed\n")
    run = prepare(sealed, open_secrets(sealed, None, None, None)[0], tmp_path / "run")
    assert sorted(p.name for p in (run.root / "secrets").iterdir()) == ["lab-bmc"]


def test_the_status_is_served_on_the_provisioning_address_this_machine_has() -> None:
    from strata.seed.start import status_host

    prov = NetworkSide("provisioning", "prov", "192.168.110.0/24", address="192.168.110.14/24")
    bmc = NetworkSide("bmc", "bmc", "192.168.100.0/24", address="192.168.100.4/24")
    links = {
        "lo": ("00:00:00:00:00:00", ["127.0.0.1"]),
        "ens3": ("52:54:00:10:00:14", ["192.168.100.4"]),
        "ens4": ("52:54:00:10:00:04", ["192.168.110.99", "192.168.110.14"]),
    }
    assert status_host((bmc, prov), links) == "192.168.110.14"  # the topology's, when here
    unnamed = NetworkSide("provisioning", "prov", "192.168.110.0/24")
    assert status_host((unnamed,), links) == "192.168.110.99"  # else any in its CIDR
    assert status_host((bmc,), links) is None  # no provisioning network: nowhere
    assert status_host((prov,), {"lo": ("", ["127.0.0.1", "fe80::1"])}) is None
