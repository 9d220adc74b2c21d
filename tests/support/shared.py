"""The project's shared data beside the checkout (``../shared``: the official Ignition
schemas, the Metal3 and Cluster API CRDs, the Kubernetes binaries).

A person who clones the repository has no ``../shared``: a test that needs it is
skipped, saying what is missing. CI always has it, so under ``CI=true`` its absence
fails the test instead of hiding it. ``STRATA_SHARED`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.environ.get("STRATA_SHARED", ROOT.parent / "shared"))


def shared(*parts: str) -> Path:
    """``../shared/<parts>``; skips the calling test when it is absent (fails under CI)."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent: this test needs the project's shared data beside the checkout"
        absent(reason, "CI always has it")
    return path


def absent(reason: str, why_ci_has_it: str) -> NoReturn:
    """Skip the calling test saying ``reason``; under ``CI=true``, where what is missing
    is always there, fail it instead (``why_ci_has_it`` says why)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} ({why_ci_has_it})")
    pytest.skip(reason)
