"""One run of Strata's management plane, assembled in one place: the store, the writer
lease (taken once), what runs beside the controller (the boot service and DHCP), and
the reconciler; everything stopped cleanly however the run ends.

What controller-runtime calls a Manager (it holds leader election and starts the
controllers and servers of a process): ``strata apply`` runs one, and so will the
in-cluster controller and the seed. Whoever assembles the run builds the plan once,
under the lease, and hands the same plan to the reconciler and to the boot side.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

from strata.controller.lease import Lease
from strata.controller.options import ApplyOptions
from strata.controller.reconciler import DriverSource, Reconciler
from strata.controller.report import Change, Summary
from strata.plan import Plan
from strata.store import Store

__all__ = ["Beside", "Manager"]


class Beside(Protocol):
    """What runs beside the controller for the length of a run (the boot service, each
    layer's watch of Nodes)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Manager:
    """``with Manager(store, options) as run:`` holds the datacenter (``WriterBusy`` names
    who holds it otherwise); ``run.reconcile(...)`` drives every node; leaving the block
    releases the lease."""

    def __init__(self, store: Store, options: ApplyOptions, role: str = "strata apply") -> None:
        self.store, self.options = store, options
        self.lease = Lease(store, options.lease_ttl, role)

    def __enter__(self) -> Manager:
        self.lease.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.lease.release()

    def reconcile(
        self,
        plan: Plan,
        drivers: DriverSource,
        beside: Sequence[Beside] = (),
        observer: Callable[[Change], None] | None = None,
        stop: threading.Event | None = None,
        observe_lag: Callable[[str, float], None] | None = None,
    ) -> Summary:
        """Start what runs ``beside`` (in order: the boot service, the layers' watches),
        drive every node of ``plan`` to its target (or until ``stop`` is set: see
        ``Reconciler``), stop them (in reverse order); ``observe_lag``: the run's
        ``ApplyOptions.observe_lag`` (the web face's, made after the lease)."""
        started: list[Beside] = []
        try:
            for part in beside:
                part.start()
                started.append(part)
            options = self.options
            if observe_lag is not None:
                options = dataclasses.replace(options, observe_lag=observe_lag)
            reconciler = Reconciler(
                plan, self.store, drivers, options, observer, lease=self.lease, stop=stop
            )
            return reconciler.run()
        finally:
            for part in reversed(started):
                part.stop()
