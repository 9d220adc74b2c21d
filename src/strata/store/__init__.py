"""Where Strata keeps what it knows: the store interface, the embedded SQLite store and
the Kubernetes store (state in custom resources, for in-cluster mode)."""

from strata.store.kube_api import KubeStoreError
from strata.store.kube_store import KubeStore
from strata.store.migrations import SchemaTooNew
from strata.store.records import (
    Conflict,
    Fenced,
    LogEntry,
    MovableStore,
    NodeCopy,
    NodeRecord,
    NodeSummary,
    RecordWrite,
    Store,
    WriterBusy,
)
from strata.store.server_crd import server_crd
from strata.store.sqlite import SQLiteStore
from strata.store.state_file import StateDamaged, StateFileError, StateLost

__all__ = [
    "Conflict",
    "Fenced",
    "KubeStore",
    "KubeStoreError",
    "LogEntry",
    "MovableStore",
    "NodeCopy",
    "NodeRecord",
    "NodeSummary",
    "RecordWrite",
    "SQLiteStore",
    "SchemaTooNew",
    "StateDamaged",
    "StateFileError",
    "StateLost",
    "Store",
    "WriterBusy",
    "server_crd",
]
