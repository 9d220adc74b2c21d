"""Filling the mirror: checksums verified, only the OS's artifacts taken, nothing odd served."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from strata.boot import AssetIndex, import_artifacts
from strata.boot.assets import ArtifactImportError

KERNEL = "fedora-coreos-41.20241109.3.0-live-kernel.x86_64"
INITRAMFS = "fedora-coreos-41.20241109.3.0-live-initramfs.x86_64.img"


def download(tmp_path: Path, sums: dict[str, str] | None = None) -> Path:
    src = tmp_path / "download"
    src.mkdir()
    for name in (KERNEL, INITRAMFS, "README"):
        (src / name).write_bytes(name.encode() * 100)
    listed = (
        sums
        if sums is not None
        else {n: hashlib.sha256((src / n).read_bytes()).hexdigest() for n in (KERNEL, INITRAMFS)}
    )
    (src / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in listed.items()))
    return src


def test_import_verifies_and_indexes(tmp_path: Path) -> None:
    names = import_artifacts(download(tmp_path), tmp_path / "mirror", "fcos", "41.20241109.3.0")
    assert names == [KERNEL, INITRAMFS]
    index = AssetIndex(tmp_path / "mirror")
    found = index.get("fcos", "41.20241109.3.0", KERNEL)
    assert found is not None and found.path.read_bytes() == KERNEL.encode() * 100
    assert index.get("fcos", "41.20241109.3.0", "README") is None  # not an artifact of the OS


def test_a_wrong_checksum_is_refused(tmp_path: Path) -> None:
    src = download(tmp_path, {KERNEL: "0" * 64, INITRAMFS: "0" * 64})
    with pytest.raises(ArtifactImportError, match=f"{KERNEL}: SHA-256 .* does not match"):
        import_artifacts(src, tmp_path / "mirror", "fcos", "41.20241109.3.0")
    assert AssetIndex(tmp_path / "mirror").get("fcos", "41.20241109.3.0", KERNEL) is None


def test_a_file_without_a_checksum_is_refused(tmp_path: Path) -> None:
    src = download(tmp_path, {})
    with pytest.raises(ArtifactImportError, match="no SHA-256 or SHA-512 digest"):
        import_artifacts(src, tmp_path / "mirror", "fcos", "41.20241109.3.0")


def test_nothing_to_import(tmp_path: Path) -> None:
    with pytest.raises(ArtifactImportError, match=r"no flatcar 4081\.2\.0 artifacts"):
        import_artifacts(download(tmp_path), tmp_path / "mirror", "flatcar", "4081.2.0")


def test_a_version_must_be_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(ArtifactImportError, match="not a plain name"):
        import_artifacts(download(tmp_path), tmp_path / "mirror", "fcos", "../../etc")


def test_the_index_skips_links_and_hidden_files(tmp_path: Path) -> None:
    version = tmp_path / "mirror" / "fcos" / "41"
    version.mkdir(parents=True)
    (version / ".partial").write_text("x")
    (tmp_path / "outside").write_text("x")
    (version / "link").symlink_to(tmp_path / "outside")
    (version / "ok.img").write_text("x")
    index = AssetIndex(tmp_path / "mirror")
    assert len(index) == 1 and index.get("fcos", "41", "ok.img") is not None


FLATCAR = ("flatcar_production_pxe.vmlinuz", "flatcar_production_pxe_image.cpio.gz")


def _files(src: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    src.mkdir(exist_ok=True)
    for name in names:
        (src / name).write_bytes(name.encode() * 50)
    return {n: (src / n).read_bytes() for n in names}


def test_flatcar_digests_files_are_read_for_their_sha512(tmp_path: Path) -> None:
    """Flatcar publishes NAME.DIGESTS with MD5, SHA1 and SHA512 sections."""
    src = tmp_path / "download"
    for name, data in _files(src, FLATCAR).items():
        (src / f"{name}.DIGESTS").write_text(
            f"# MD5 HASH\n{hashlib.md5(data).hexdigest()}  {name}\n"
            f"# SHA1 HASH\n{hashlib.sha1(data).hexdigest()}  {name}\n"
            f"# SHA512 HASH\n{hashlib.sha512(data).hexdigest()}  {name}\n"
        )
    assert import_artifacts(src, tmp_path / "m", "flatcar", "4081.2.0") == list(FLATCAR)
    (src / f"{FLATCAR[0]}.DIGESTS").write_text(f"# SHA512 HASH\n{'a' * 128}  {FLATCAR[0]}\n")
    with pytest.raises(ArtifactImportError, match=r"SHA-512 .* does not match the published a+"):
        import_artifacts(src, tmp_path / "m", "flatcar", "4081.2.0")


def test_md5_and_sha1_alone_are_no_check(tmp_path: Path) -> None:
    src = tmp_path / "download"
    for name, data in _files(src, FLATCAR).items():
        (src / f"{name}.DIGESTS").write_text(
            f"# MD5 HASH\n{hashlib.md5(data).hexdigest()}  {name}\n"
        )
    with pytest.raises(ArtifactImportError, match="no SHA-256 or SHA-512 digest"):
        import_artifacts(src, tmp_path / "m", "flatcar", "4081.2.0")


def test_sidecars_bsd_tags_and_rhcos_sha256sum_txt(tmp_path: Path) -> None:
    src = tmp_path / "download"
    names = (
        "rhcos-4.16.3-x86_64-live-kernel.x86_64",
        "rhcos-4.16.3-x86_64-live-initramfs.x86_64.img",
    )
    data = _files(src, names)
    (src / f"{names[0]}.sha256").write_text(hashlib.sha256(data[names[0]]).hexdigest() + "\n")
    (src / "sha256sum.txt").write_text(
        f"SHA256 ({names[1]}) = {hashlib.sha256(data[names[1]]).hexdigest()}\n"
    )
    assert import_artifacts(src, tmp_path / "m", "rhcos", "4.16.3") == list(names)


def test_fcos_stream_metadata_names_files_by_their_location(tmp_path: Path) -> None:
    src = tmp_path / "download"
    data = _files(src, (KERNEL, INITRAMFS))
    base = (
        "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/41.20241109.3.0/x86_64"
    )
    pxe = {
        "kernel": {
            "location": f"{base}/{KERNEL}",
            "sha256": hashlib.sha256(data[KERNEL]).hexdigest(),
        },
        "initramfs": {
            "location": f"{base}/{INITRAMFS}",
            "sha256": hashlib.sha256(data[INITRAMFS]).hexdigest(),
        },
    }
    stream = {"architectures": {"x86_64": {"artifacts": {"metal": {"formats": {"pxe": pxe}}}}}}
    (src / "stable.json").write_text(json.dumps(stream))
    assert import_artifacts(src, tmp_path / "m", "fcos", "41.20241109.3.0") == [KERNEL, INITRAMFS]


def test_importing_again_lists_each_file_once(tmp_path: Path) -> None:
    src = download(tmp_path)
    for _ in range(3):
        import_artifacts(src, tmp_path / "mirror", "fcos", "41.20241109.3.0")
    listing = (tmp_path / "mirror/fcos/41.20241109.3.0/SHA256SUMS").read_text().splitlines()
    assert sorted(line.split()[1] for line in listing) == sorted([KERNEL, INITRAMFS])


def test_two_different_published_digests_refuse_the_file(tmp_path: Path) -> None:
    src = download(tmp_path)
    (src / f"{KERNEL}.sha256").write_text("f" * 64)
    with pytest.raises(ArtifactImportError, match="two different sha256 digests"):
        import_artifacts(src, tmp_path / "mirror", "fcos", "41.20241109.3.0")
