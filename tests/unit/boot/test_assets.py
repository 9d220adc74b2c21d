"""Filling the mirror: checksums verified, only the OS's artifacts taken, nothing odd served."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from strata.boot import AssetIndex, import_artifacts
from strata.boot.assets import ImportError_

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
    with pytest.raises(ImportError_, match=f"{KERNEL}: SHA-256 .* does not match"):
        import_artifacts(src, tmp_path / "mirror", "fcos", "41.20241109.3.0")
    assert AssetIndex(tmp_path / "mirror").get("fcos", "41.20241109.3.0", KERNEL) is None


def test_a_file_without_a_checksum_is_refused(tmp_path: Path) -> None:
    src = download(tmp_path, {})
    with pytest.raises(ImportError_, match="no SHA-256 sum"):
        import_artifacts(src, tmp_path / "mirror", "fcos", "41.20241109.3.0")


def test_nothing_to_import(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match=r"no flatcar 4081\.2\.0 artifacts"):
        import_artifacts(download(tmp_path), tmp_path / "mirror", "flatcar", "4081.2.0")


def test_a_version_must_be_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="not a plain name"):
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
