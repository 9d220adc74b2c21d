"""The two ends of a move: where a topology's state is kept now and where it goes.

An end is the embedded SQLite state file, or a namespace of a Kubernetes cluster
reached through a kubeconfig (the Kubernetes store, docs/in-cluster.md). Each is
named in the journal (``strata.pivot.journal``) as JSON, so a rerun or ``--back``
finds both without being told again; the kubeconfig is named by its path, never
copied.

The lease holders a move writes (``marker``): the source is *frozen* (``moving to``),
the target *receives*, then *takes over*, and the source is left saying where its
management plane went (``moved``): ``strata status`` on it shows that holder, and
``strata apply`` on it is refused naming it (``WriterBusy``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from strata.store import KubeStore, MovableStore, SQLiteStore
from strata.store.fence import move_holding  # the store's reading of a marker

__all__ = ["FREEZE_TTL", "MOVED_TTL", "End", "marker", "move_holding"]

FREEZE_TTL = 30 * 86400.0  # a move's own lease markers: held until it ends or is rolled back
MOVED_TTL = 10 * 365 * 86400.0  # "moved to": as long as a Lease's int32 duration allows, near


@dataclass(frozen=True, slots=True)
class End:
    """``kind`` "sqlite" (``path``: the state file) or "kube" (``kubeconfig``: a file's
    path, ``server``: the API server's URL it names, ``namespace``); ``topology``: the
    topology's name (the Kubernetes store's objects are named after it)."""

    kind: str
    topology: str
    path: str = ""
    kubeconfig: str = ""
    server: str = ""
    namespace: str = ""

    @classmethod
    def sqlite(cls, path: Path, topology: str) -> End:
        return cls("sqlite", topology, path=str(path.resolve()))

    @classmethod
    def kube(cls, kubeconfig: Path, namespace: str, topology: str) -> End:
        return cls(
            "kube",
            topology,
            kubeconfig=str(kubeconfig.resolve()),
            server=_server_of(kubeconfig),
            namespace=namespace,
        )

    def describe(self) -> str:
        if self.kind == "sqlite":
            return f"state file {self.path}"
        return f"cluster {self.server} namespace {self.namespace}"

    def same_place(self, other: End) -> bool:
        """The same state (another kubeconfig may reach the same cluster)."""
        return self.describe() == other.describe() and self.topology == other.topology

    def open(self) -> MovableStore:
        """The store at this end (a state file is created when there is none)."""
        if self.kind == "sqlite":
            return SQLiteStore(Path(self.path))
        return KubeStore.from_kubeconfig(self.kubeconfig, self.namespace, self.topology)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> End:
        return cls(**value)


def marker(role: str, move: str, other: End) -> str:
    """The lease holder a move writes: ``role`` frozen, receiving, taking-over, moved."""
    text = {
        "frozen": f"strata pivot {move}: moving to {other.describe()}",
        "receiving": f"strata pivot {move}: receiving from {other.describe()}",
        "taking-over": f"strata pivot {move}: taking over from {other.describe()}",
        "moved": f"the controller in {other.describe()} (moved there by strata pivot {move})",
    }
    return text[role]


def moved_to(holder: str | None, end: End) -> bool:
    """Whether ``holder`` is the marker of a move that went to ``end``."""
    return bool(holder) and str(holder).startswith(f"the controller in {end.describe()} (moved")


def _server_of(kubeconfig: Path) -> str:
    """The URL of the current context's cluster (lightkube reads the file as kubectl)."""
    from lightkube.config.kubeconfig import KubeConfig

    try:
        config = KubeConfig.from_file(kubeconfig).get()
    except Exception:  # the store says why when it is opened
        return f"(unreadable kubeconfig {os.fspath(kubeconfig)})"
    return str(config.cluster.server) if config is not None else "(no current context)"


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
