"""The reader refuses a file swapped after `strata validate`, even mid-read.

Each swap is made at the worst moment the reader allows — after a check passed and
before the file is opened — by wrapping the call that precedes the ``open``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strata.topology import named_files
from strata.topology.named_files import (
    CREDENTIALS,
    FileKind,
    NamedFileError,
    NamedFiles,
    read_regular,
)

SECRET = "s3cret-from-outside"


@pytest.fixture
def dc(tmp_path: Path) -> Path:
    (tmp_path / "dc" / "secrets").mkdir(parents=True)
    (tmp_path / "dc" / "secrets" / "pw").write_text("inside\n")
    (tmp_path / "dc" / "secrets" / "pw").chmod(0o600)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "pw").write_text(SECRET + "\n")
    (tmp_path / "outside" / "pw").chmod(0o600)
    return tmp_path / "dc"


def after_realpath(monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None]) -> None:
    """Run ``swap`` right after the reader resolved the path and found it inside."""
    real = os.path.realpath

    def realpath_then_swap(path: Any, *args: Any, **kwargs: Any) -> str:
        resolved = real(path, *args, **kwargs)
        if str(path).endswith("pw"):
            swap()
        return resolved

    monkeypatch.setattr(named_files.os.path, "realpath", realpath_then_swap)


def test_reads_a_file_inside(dc: Path) -> None:
    assert NamedFiles(dc).read("secrets/pw", CREDENTIALS) == b"inside\n"


def test_a_file_swapped_for_a_link_before_the_open_is_refused(
    dc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def swap() -> None:
        (dc / "secrets" / "pw").unlink()
        (dc / "secrets" / "pw").symlink_to(dc.parent / "outside" / "pw")

    after_realpath(monkeypatch, swap)
    with pytest.raises(NamedFileError, match="replaced by a symbolic link") as caught:
        NamedFiles(dc).read("secrets/pw", CREDENTIALS)
    assert SECRET not in str(caught.value)


def test_a_directory_swapped_for_a_link_before_the_open_is_refused(
    dc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O_NOFOLLOW guards only the last name; /proc/self/fd tells where the file really is."""

    def swap() -> None:
        (dc / "secrets").rename(dc / "old-secrets")
        (dc / "secrets").symlink_to(dc.parent / "outside")

    after_realpath(monkeypatch, swap)
    with pytest.raises(NamedFileError, match="moved outside the allowed directories"):
        NamedFiles(dc).read("secrets/pw", CREDENTIALS)


def test_a_fifo_swapped_in_after_the_stat_cannot_hang_the_reader(
    dc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regular = os.stat(dc / "secrets" / "pw")
    (dc / "secrets" / "pw").unlink()
    os.mkfifo(dc / "secrets" / "pw", 0o600)
    real_stat = os.stat
    monkeypatch.setattr(
        named_files.os,
        "stat",
        lambda path, *a, **k: regular if str(path).endswith("pw") else real_stat(path, *a, **k),
    )
    with pytest.raises(NamedFileError, match="is a FIFO, not a regular file"):
        NamedFiles(dc).read("secrets/pw", CREDENTIALS)  # no writer: a blocking open would hang


def test_a_file_growing_while_it_is_read_is_cut_at_the_bound(
    dc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = FileKind("tiny file", 4)
    (dc / "grows").write_text("1234")
    seen_small = os.stat(dc / "grows")
    (dc / "grows").write_text("12345678")  # it grew after both checks saw 4 bytes
    monkeypatch.setattr(named_files.os, "stat", lambda *a, **k: seen_small)
    monkeypatch.setattr(named_files.os, "fstat", lambda fd: seen_small)
    with pytest.raises(NamedFileError, match="grew past the limit of 4 bytes"):
        read_regular(dc / "grows", tiny)


def test_a_file_swapped_after_validate_is_checked_again(dc: Path) -> None:
    files = NamedFiles(dc)
    assert files.read("secrets/pw", CREDENTIALS) == b"inside\n"
    (dc / "secrets" / "pw").unlink()
    (dc / "secrets" / "pw").symlink_to(dc.parent / "outside" / "pw")
    with pytest.raises(NamedFileError, match="it resolves to"):
        files.read("secrets/pw", CREDENTIALS)


def test_the_files_of_one_check_are_bounded_together(dc: Path) -> None:
    files = NamedFiles(dc, budget=10)
    files.read("secrets/pw", CREDENTIALS)  # 7 bytes
    with pytest.raises(NamedFileError, match="hold more than"):
        files.read("secrets/pw", CREDENTIALS)


@pytest.mark.parametrize("name", ["", "a\0b"])
def test_names_that_are_no_file_names(dc: Path, name: str) -> None:
    with pytest.raises(NamedFileError, match="is not a file name"):
        NamedFiles(dc).read(name, CREDENTIALS)
