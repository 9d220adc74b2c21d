"""The seed's payload from a topology: its manifest (seed.json) read back as written, the
topology's digest as sha256sum gives it, the seed node's network setup, the files and
artifacts it carries, and its secrets sealed (never a value in clear)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from strata.bmc.credentials import CredentialsError
from strata.seed.payload import (
    Manifest,
    NetworkSide,
    PayloadError,
    build_payload,
    read_contents,
    seed_network,
)
from strata.seed.sealed import unseal
from strata.topology import load
from tests.unit.seed.conftest import FRAGMENT, PASSWORD

N = 2**14


def build(file: Path, **kwargs: object) -> tuple[Manifest, dict[str, bytes | Path]]:
    kwargs.setdefault("passphrase", "correct horse battery")
    return build_payload(file, load(file), scrypt_n=N, **kwargs)  # type: ignore[arg-type]


def small(payload: dict[str, bytes | Path]) -> dict[str, bytes]:
    return {k: v if isinstance(v, bytes) else v.read_bytes() for k, v in payload.items()}


def test_the_manifest_and_contents_round_trip(topology_file: Path) -> None:
    manifest, payload = build(topology_file, node="lab-seed")
    contents = read_contents(small(payload))
    assert contents.manifest == manifest == Manifest.from_json(manifest.to_json())
    assert contents.topology == topology_file.read_bytes()
    assert contents.files == {"fragments/motd.yaml": FRAGMENT.encode()}
    opened = unseal(contents.secrets or b"", "correct horse battery")
    assert opened.names() == ["credentials/lab-bmc"]
    assert opened.reveal("credentials/lab-bmc") == PASSWORD


def test_the_topology_digest_is_sha256sum_of_the_file(topology_file: Path) -> None:
    manifest, _ = build(topology_file)
    assert manifest.topology_sha256 == hashlib.sha256(topology_file.read_bytes()).hexdigest()
    assert manifest.topology_size == topology_file.stat().st_size
    assert (manifest.topology, manifest.pivot, manifest.format) == ("lab", "mgmt", 1)


def test_a_changed_topology_or_file_is_refused_on_reading(topology_file: Path) -> None:
    _, payload = build(topology_file)
    changed = small(payload) | {"topology.yaml": topology_file.read_bytes() + b"# x\n"}
    with pytest.raises(PayloadError, match="does not match its SHA-256"):
        read_contents(changed)
    path = next(k for k in payload if k.startswith("files/"))
    with pytest.raises(PayloadError, match="does not match"):
        read_contents(small(payload) | {path: b"other"})
    with pytest.raises(PayloadError, match="not a Strata seed"):
        read_contents({"README.txt": b"x"})


def test_the_seed_nodes_network_setup_comes_from_the_topology(topology_file: Path) -> None:
    sides = seed_network(load(topology_file), "lab-seed")
    assert sides == (
        NetworkSide(
            "bmc", "bmc", "192.168.100.0/24", "eth1", "52:54:00:10:00:14", "192.168.100.4/24"
        ),
        NetworkSide(
            "provisioning",
            "provisioning",
            "192.168.110.0/24",
            "eth0",
            "52:54:00:10:00:04",
            "192.168.110.14/24",
            "192.168.110.1",
        ),
    )


def test_without_a_node_only_the_networks_are_known(topology_file: Path) -> None:
    sides = seed_network(load(topology_file), None)
    assert [(s.purpose, s.network, s.mac, s.address) for s in sides] == [
        ("bmc", "bmc", None, None),
        ("provisioning", "provisioning", None, None),
    ]


def test_a_node_the_seed_cannot_serve_from_is_refused(topology_file: Path) -> None:
    topology = load(topology_file)
    with pytest.raises(PayloadError, match="no such node"):
        seed_network(topology, "nowhere")
    text = topology_file.read_text().replace("ip: 192.168.110.14", "ip: dhcp")
    topology_file.write_text(text)
    with pytest.raises(PayloadError, match="no static address on provisioning network"):
        seed_network(load(topology_file), "lab-seed")


def test_secrets_need_a_passphrase_or_the_explicit_flag(topology_file: Path) -> None:
    with pytest.raises(PayloadError, match="--plaintext-secrets"):
        build(topology_file, passphrase=None)
    manifest, payload = build(topology_file, passphrase=None, plaintext=True)
    assert not manifest.secrets.sealed and manifest.secrets.file == "secrets.json"
    assert PASSWORD.encode() in small(payload)["secrets.json"]


def test_no_payload_byte_holds_a_secret_when_sealed(topology_file: Path) -> None:
    manifest, payload = build(topology_file, node="lab-seed")
    assert manifest.secrets.sealed and manifest.secrets.cipher == "scrypt+AES-256-GCM"
    assert manifest.secrets.names == ("credentials/lab-bmc",)
    for name, raw in small(payload).items():
        assert PASSWORD.encode() not in raw, name


def test_a_secret_that_cannot_be_read_now_is_refused(
    topology_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRATA_LAB_BMC_PASSWORD")
    with pytest.raises(CredentialsError, match="STRATA_LAB_BMC_PASSWORD is not set"):
        build(topology_file)


def test_the_artifact_mirror_is_listed_with_sizes_and_sums(topology_file: Path) -> None:
    mirror = topology_file.parent / "artifacts" / "flatcar" / "4081.2.0"
    mirror.mkdir(parents=True)
    (mirror / "flatcar_production_pxe.vmlinuz").write_bytes(b"kernel" * 1000)
    (mirror / "SHA256SUMS").write_text("x\n")
    manifest, payload = build(topology_file, artifacts=topology_file.parent / "artifacts")
    assert [(a.path, a.size) for a in manifest.artifacts] == [
        ("artifacts/flatcar/4081.2.0/SHA256SUMS", 2),
        ("artifacts/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz", 6000),
    ]
    kernel = manifest.artifacts[1]
    assert kernel.sha256 == hashlib.sha256(b"kernel" * 1000).hexdigest()
    assert payload[kernel.path] == mirror / "flatcar_production_pxe.vmlinuz"  # copied, not read
    (mirror / "link").symlink_to("/etc/passwd")
    with pytest.raises(PayloadError, match="not a regular file"):
        build(topology_file, artifacts=topology_file.parent / "artifacts")


def test_the_same_inputs_give_the_same_payload_but_the_sealed_secrets(topology_file: Path) -> None:
    """No date, no order of the file system: a plaintext (or secretless) payload is the
    same bytes twice; sealed, only secrets.sealed differs (a fresh salt and nonce)."""
    one, two = (small(build(topology_file, passphrase=None, plaintext=True)[1]) for _ in "ab")
    assert one == two
    one, two = (small(build(topology_file)[1]) for _ in "ab")
    assert {k for k in one if one[k] != two[k]} == {"secrets.sealed"}
