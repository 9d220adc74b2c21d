"""The cyclic garbage collector while a run lasts (Python's ``gc`` module, process-wide).

What a run loads (the plan, every node's record) lives as long as the run: it is
frozen out of the collector's passes (``gc.freeze``). What a run allocates after that is
mostly short-lived or freed by reference counting (log entries read, records written,
the layers' watch events decoded from JSON), yet each 700 container objects allocated
and not yet freed start a young-generation pass, every tenth of those a middle one, and
the middle ones promote what is alive at that moment towards full passes. A run raises
the young generation's threshold tenfold: fewer passes, fewer objects promoted that die
soon after. Measured on bench/lifecycle_scale.py (10,009 nodes, ``gc.callbacks``; one
pair of runs each way): the collector's time in a run to joined 1.3 -> 0.7 s, to
provisioned 0.8 -> 0.4 s. Both are undone when the run ends.
"""

from __future__ import annotations

import gc

__all__ = ["RunHeap"]

YOUNG_FACTOR = 10  # the young generation's threshold while a run lasts, times the default


class RunHeap:
    """``settle()`` once the run has loaded what it keeps; ``restore()`` when it ends
    (also when ``settle`` never ran: then only the freeze is undone, a no-op)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def settle(self) -> None:
        gc.freeze()  # what is loaded lives as long as the run: passes skip it
        young, middle, old = self._saved = gc.get_threshold()
        gc.set_threshold(young * YOUNG_FACTOR, middle, old)

    def restore(self) -> None:
        gc.unfreeze()
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
