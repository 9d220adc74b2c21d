"""The pivot tests' fixture that forgets what a test hooked on the move's failpoints
(``strata.pivot.failpoints.ACTIONS``), so that no action outlives its test; a
conftest imports it to make it autouse there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from strata.pivot import failpoints


@pytest.fixture(autouse=True)
def no_failpoint_actions() -> Iterator[None]:
    yield
    failpoints.ACTIONS.clear()
