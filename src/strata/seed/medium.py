"""Reading a built seed image back: the payload files under /strata/ on the medium, by
their Rock Ridge names (pycdlib; the same names the live system sees at
/run/live/medium/strata/)."""

from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import Path

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from strata.seed.image import PAYLOAD_DIR
from strata.seed.rootfs import SeedBuildError

__all__ = ["SeedMediumError", "read_payload"]


class SeedMediumError(SeedBuildError):
    """A file is not a seed image, or its payload cannot be read."""

    kind = "seed-medium"
    exit_code = 2


def read_payload(image: Path, only: Collection[str] | None = None) -> dict[str, bytes]:
    """``{name: bytes}`` of every file under /strata/ on ``image`` (names relative to
    /strata/, POSIX, sorted), or of those named in ``only``. Reads whole files into
    memory: artifacts included. Raises SeedMediumError when ``image`` is missing, not
    ISO 9660, or has no /strata/."""
    if not image.is_file():
        raise SeedMediumError(f"{image}: no such file")
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(image))
    except PyCdlibException as error:
        raise SeedMediumError(f"{image}: not an ISO 9660 image ({error})") from error
    try:
        return _read(iso, image, only)
    finally:
        iso.close()


def _read(iso: pycdlib.PyCdlib, image: Path, only: Collection[str] | None) -> dict[str, bytes]:
    top = f"/{PAYLOAD_DIR}"
    try:
        walked = list(iso.walk(rr_path=top))
    except PyCdlibException as error:
        raise SeedMediumError(f"{image}: no /{PAYLOAD_DIR}/ (not a seed image?)") from error
    found: dict[str, bytes] = {}
    for directory, _dirs, files in walked:
        for name in files:
            path = f"{directory.rstrip('/')}/{name}"
            if only is not None and path.removeprefix(top + "/") not in only:
                continue
            buffer = io.BytesIO()
            iso.get_file_from_iso_fp(buffer, rr_path=path)
            found[path.removeprefix(top + "/")] = buffer.getvalue()
    return dict(sorted(found.items()))
