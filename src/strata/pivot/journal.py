"""The journal of a move, written in both stores so that a rerun after a crash at any
instant resumes where it stopped, and ``--back`` finds the way home.

Where: the note ``pivot`` of each store (``MovableStore.note``): on a SQLite state file
the row ``note:pivot`` of its ``meta`` table, in a Kubernetes namespace the key
``pivot`` of the ConfigMap ``<topology>-notes``. The source's is written from the
start of the move; the target's once the move holds the target's writer lease. Each
write is a compare-and-swap on the text last read or written, so a second ``strata
pivot`` writing at the same time is told (``JournalTaken``) instead of writing over it.

A step's entry is written after its work: a step found without an entry is done again,
and every step can be (see ``strata.pivot.engine``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from strata.errors import StrataError
from strata.pivot.ends import End
from strata.pivot.versions import STRATA, compatible
from strata.store import MovableStore

__all__ = ["KEY", "STEPS", "Journal", "JournalTaken", "JournalVersion", "Kept"]

KEY = "pivot"
TAKEN = (
    "the move was taken over: its journal was changed by another strata pivot "
    "(or --abort) since this run read it; this run stops and writes nothing more"
)
STEPS = ("preflight", "freeze", "install", "copy", "verify", "switch", "resume")


class JournalVersion(StrataError):
    """The journal was written by a Strata this one cannot read (``versions.compatible``)."""

    kind = "pivot-journal-version"
    exit_code = 2
    hint = "run the strata pivot of the version that began the move to finish or --abort it"


class JournalTaken(StrataError):
    """Another ``strata pivot`` changed the journal since this one read it."""

    kind = "pivot-journal"
    exit_code = 2
    hint = "one strata pivot at a time: wait for the other, then run it again"


@dataclass
class Journal:
    """``state``: moving, switched, done, rolling-back or rolled-back. ``steps``: step -> when done
    (unix seconds). ``owned``: the move holds the target's lease (its state there is the
    move's to remove on a rollback). ``prior``: the target's lease holder before (a
    "moved" marker left by an earlier move), put back on a rollback. ``back``: the move
    is a way back (``--back``)."""

    move: str
    source: End
    target: End
    started: float
    steps: dict[str, float] = field(default_factory=dict)
    state: str = "moving"
    log_from: int | None = None
    created: dict[str, Any] = field(default_factory=dict)
    owned: bool = False
    prior: str | None = None
    report: list[str] = field(default_factory=list)
    cleanup_pending: bool = False
    back: bool = False
    runner: str = ""  # the run going on with it: a second run's write stops the first
    epoch: int = 0  # how many runs took the move: a state file's fence (sqlite_move)
    switch_begun: float | None = None
    strata: str = ""  # the Strata that began the move ("": one before journals said it)
    lease_holder: str = ""  # the run holding the move lease (``strata.pivot.lease``)
    lease_until: float | None = None  # unix seconds; None: no run holds it

    @classmethod
    def new(cls, source: End, target: End, back: bool = False) -> Journal:
        return cls(uuid.uuid4().hex[:12], source, target, time.time(), back=back, strata=STRATA)

    def to_text(self) -> str:
        value = {k: v for k, v in self.__dict__.items() if k not in ("source", "target")}
        value |= {"source": self.source.to_json(), "target": self.target.to_json()}
        return json.dumps(value, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> Journal:
        """``JournalVersion`` when another major.minor of Strata wrote it (or fields
        this Strata does not know are in it)."""
        value = json.loads(text)
        written = str(value.get("strata") or "")
        if written and not compatible(written):
            raise JournalVersion(
                f"move {value.get('move')}'s journal was written by Strata {written}, this is "
                f"Strata {STRATA} (compatible: the same major.minor): it is not read"
            )
        source, target = End.from_json(value.pop("source")), End.from_json(value.pop("target"))
        try:
            return cls(source=source, target=target, **value)
        except TypeError as failure:
            raise JournalVersion(
                f"move {value.get('move')}'s journal (Strata {written or '?'}) has what this "
                f"Strata {STRATA} does not know: {failure}"
            ) from None

    @property
    def unfinished(self) -> bool:
        return self.state in ("moving", "switched", "rolling-back")


class Kept:
    """The journal as one store keeps it, written by compare-and-swap."""

    def __init__(self, store: MovableStore) -> None:
        self.store = store
        self.text = store.note(KEY)
        self._lock = threading.Lock()  # the run and its lease's heartbeat both write

    def read(self) -> Journal | None:
        return None if self.text is None else Journal.from_text(self.text)

    def reload(self) -> None:
        with self._lock:
            self.text = self.store.note(KEY)

    def check(self) -> None:
        """``JournalTaken`` when the journal kept is no longer the one last read or
        written here (another run of the move, or ``--abort``, has taken it)."""
        with self._lock:
            if self.store.note(KEY) != self.text:
                raise JournalTaken(TAKEN)

    def write(self, journal: Journal) -> None:
        with self._lock:
            text = journal.to_text()
            if text == self.text:
                return
            if not self.store.set_note(KEY, text, self.text):
                raise JournalTaken(TAKEN)
            self.text = text
