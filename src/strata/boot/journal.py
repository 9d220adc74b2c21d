"""The boot service's log entries, written a batch at a time: what the requests handled
in one turn of the event loop (and within ``linger`` seconds, when given) record goes to
the store in one ``record_many`` — one transaction on SQLite, one append to the log
segment on the Kubernetes store, where each write is an API request.

A request that recorded something is answered only once its entries are written (the
route waits for ``Journal.add``'s future): a machine told its report arrived can rely
on it, as when each entry was written on its own. A write that fails fails every
request of its batch, as the single write failed its request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

__all__ = ["Journal"]

Entry = tuple[str, str, Mapping[str, object]]  # node, event, detail


class Recorder(Protocol):
    def record_many(self, entries: list[Entry]) -> None: ...


class Journal:
    """``state``: where entries go (``BootState``); ``linger``: seconds a batch waits for
    more after its first entry (0: only the current turn of the event loop)."""

    def __init__(self, state: Recorder, linger: float = 0.0) -> None:
        self.state, self.linger = state, linger
        self.writes = 0  # record_many calls made
        self._queued: list[Entry] = []
        self._batch: asyncio.Future[None] | None = None

    def add(self, node: str, event: str, detail: Mapping[str, object]) -> asyncio.Future[None]:
        """Queue an entry (on the event loop); the future is done once it is written."""
        self._queued.append((node, event, detail))
        if self._batch is None:
            loop = asyncio.get_running_loop()
            self._batch = loop.create_future()
            if self.linger > 0:
                loop.call_later(self.linger, self.write)
            else:
                loop.call_soon(self.write)
        return self._batch

    def write(self) -> None:
        """Write what is queued now (the loop calls it; so does the service stopping)."""
        entries, batch = self._queued, self._batch
        self._queued, self._batch = [], None
        if not entries:
            return
        try:
            self.writes += 1
            self.state.record_many(entries)
        except Exception as failure:
            if batch is not None and not batch.done():
                batch.set_exception(failure)
            return
        if batch is not None and not batch.done():
            batch.set_result(None)
