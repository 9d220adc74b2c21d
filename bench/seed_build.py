"""How big the seed image is and how long it takes to build: the live root (mmdebstrap's
Debian base, Strata's venv, the squashfs) cold or from the cache, then the image.

    python bench/seed_build.py [--cold] [--artifact-mib N]

``--cold`` builds the live root in a fresh cache (both stages: minutes, and the Debian
packages and PyPI wheels are fetched again); without it the live root comes from
~/.cache/strata/seed (built there first if absent). The image's payload is a small
seed.json plus, with ``--artifact-mib``, one artifact of N MiB (random bytes: they do
not compress, as OS images barely do). Needs root, as the build does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from strata.seed.image import build_image
from strata.seed.rootfs import LiveRoot, live_root

MIB = 2**20


def _timed_root(cache: Path | None) -> tuple[float, str, LiveRoot]:
    """(seconds, what was built, the root) of one live_root call."""
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        print(f"  {line}", file=sys.stderr)

    started = time.perf_counter()
    root = live_root(cache, progress=progress)
    seconds = time.perf_counter() - started
    text = "\n".join(lines)
    built = (
        "both stages built (Debian base, Strata)"
        if "mmdebstrap" in text
        else "Strata's stage built"
        if "squashfs" in text
        else "from the cache"
    )
    return seconds, built, root


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="build the live root from scratch")
    parser.add_argument("--artifact-mib", type=int, default=0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        work = Path(tmp)
        first = _timed_root(work / "cache" if options.cold else None)
        cached_seconds, _, root = _timed_root(work / "cache" if options.cold else None)
        payload: dict[str, bytes | Path] = {"seed.json": b"{}\n"}
        if options.artifact_mib:
            artifact = work / "artifact.img"
            artifact.write_bytes(os.urandom(options.artifact_mib * MIB))
            payload["artifacts/artifact.img"] = artifact
        started = time.perf_counter()
        image = build_image(work / "seed.iso", payload, root=root, progress=lambda _: None)
        image_seconds = time.perf_counter() - started
        again = build_image(work / "again.iso", payload, root=root, progress=lambda _: None)
        print(f"live root {root.digest[:16]}:")
        for name, path in (("kernel", root.kernel), ("initrd", root.initrd)):
            print(f"  {name:8} {path.stat().st_size / MIB:7.1f} MiB")
        print(f"  squashfs {root.squashfs.stat().st_size / MIB:7.1f} MiB")
        print(f"live root, first call:  {first[0]:7.1f} s ({first[1]})")
        print(f"live root, second call: {cached_seconds:7.1f} s (from the cache)")
        print(f"image build:            {image_seconds:7.1f} s")
        print(f"image size: {image.size / MIB:.1f} MiB ({image.size} bytes)")
        print(f"reproducible: {image.sha256 == again.sha256} (sha256 {image.sha256[:16]})")


if __name__ == "__main__":
    main()
