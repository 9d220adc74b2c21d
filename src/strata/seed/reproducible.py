"""Reproducible pycdlib output: pycdlib stamps directory records and volume descriptors
with ``time.time()`` (in the local zone) and makes the isohybrid GPT's GUIDs with
``uuid.uuid4()``; it has no SOURCE_DATE_EPOCH option. While a seed image is written,
its modules see a clock stopped at SOURCE_DATE_EPOCH in UTC and GUIDs derived from the
inputs' digest (reproducible-builds.org/specs/source-date-epoch)."""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from time import struct_time
from types import ModuleType, SimpleNamespace
from typing import Any

import pycdlib.dates
import pycdlib.headervd
import pycdlib.inplaceeditor
import pycdlib.isohybrid
import pycdlib.pycdlib
import pycdlib.udf
import pycdlib.utils

__all__ = ["fixed_clock"]

_TIMED: tuple[ModuleType, ...] = (
    pycdlib.dates,
    pycdlib.headervd,
    pycdlib.inplaceeditor,
    pycdlib.pycdlib,
    pycdlib.udf,
    pycdlib.utils,
)


class _Clock(SimpleNamespace):
    """The ``time`` module as pycdlib uses it, at one instant, in UTC."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self._epoch = epoch

    def time(self) -> float:
        return float(self._epoch)

    def localtime(self, seconds: float | None = None) -> struct_time:
        return time.gmtime(self._epoch if seconds is None else seconds)

    def gmtime(self, seconds: float | None = None) -> struct_time:
        return time.gmtime(self._epoch if seconds is None else seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _Guids(SimpleNamespace):
    """The ``uuid`` module with uuid4 replaced by name-based UUIDs from ``seed``."""

    def __init__(self, seed: str) -> None:
        super().__init__()
        self._counter = itertools.count()
        self._seed = seed

    def uuid4(self) -> uuid.UUID:
        digest = hashlib.sha256(f"{self._seed}:{next(self._counter)}".encode()).digest()
        return uuid.UUID(bytes=digest[:16], version=4)

    def __getattr__(self, name: str) -> Any:
        return getattr(uuid, name)


@contextmanager
def fixed_clock(epoch: int, seed: str) -> Iterator[None]:
    """Within: pycdlib's clock reads ``epoch`` (UTC) and its GUIDs come from ``seed``.
    Not thread-safe: one image is written at a time in a process."""
    saved: list[tuple[ModuleType, str, object]] = []
    try:
        for module in _TIMED:
            saved.append((module, "time", module.time))
            module.time = _Clock(epoch)  # type: ignore[attr-defined]
        hybrid: Any = pycdlib.isohybrid
        saved.append((hybrid, "uuid", hybrid.uuid))
        hybrid.uuid = _Guids(seed)
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)
