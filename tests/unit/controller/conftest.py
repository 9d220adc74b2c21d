"""What the controller's tests share: a state file of their own per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.store import SQLiteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "state.db")
    yield s
    s.close()
