"""Each layer's cluster secrets as the store keeps them: one row per layer in
``clusters`` (migration 4), text only.

The store does not read what it keeps: the PKI is the JSON ``strata.kube.pki.ClusterPKI``
writes, the token ``<id>.<secret>`` and the certificate key hex; ``strata.kube.
material_store`` makes them and reads them back. Keeping text keeps the store free of
``cryptography`` and lets a Kubernetes-backed store hold the same row in a Secret.

Two rules make concurrent writers safe, whatever their number or process:

- a layer's first material is *inserted if absent* and read back in the same
  transaction (``keep_first``): the second writer to get there gets the first's, so two
  processes generating at once still end with one PKI;
- a token is replaced only if the stored one is still the one the writer read
  (``replace_token``, compare-and-swap): two writers rotating at once end with one new
  token, the one that got there first.

Every secret is left out of ``repr``; no message here carries one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ClusterSecretsStore", "StoredCluster", "keep_first", "read", "replace_token"]

_COLUMNS = "layer, pki, token, token_expires, certificate_key, created, rotated"


@dataclass(frozen=True, slots=True)
class StoredCluster:
    """One layer's row: what ``kubeadm`` needs to make and join its cluster."""

    layer: str
    """The layer's name in the topology (``ClusterPlan.name``)."""
    pki: str = field(repr=False)
    """``ClusterPKI.to_json()``: the three CAs with their keys, the service-account pair."""
    token: str = field(repr=False)
    """The current bootstrap token, ``<id>.<secret>``."""
    token_expires: float
    """When the token stops authenticating, unix seconds."""
    certificate_key: str = field(repr=False)
    """64 hex digits: ``kubeadm join --control-plane --certificate-key``."""
    created: float
    """When the layer's material was first kept, unix seconds."""
    rotated: float
    """When the token was last replaced (``created`` until the first rotation)."""


class ClusterSecretsStore(Protocol):
    """What a store offers for cluster secrets (``strata.store.records.Store`` has it)."""

    def cluster(self, layer: str) -> StoredCluster | None:
        """The layer's row; None when nothing was kept for it yet."""
        ...

    def keep_cluster(self, first: StoredCluster) -> StoredCluster:
        """Keeps ``first`` unless the layer already has a row; returns the row kept."""
        ...

    def rotate_cluster_token(
        self, layer: str, replacing: str, token: str, expires: float, now: float
    ) -> StoredCluster:
        """Replaces the token ``replacing`` by ``token``; when another writer replaced it
        already, changes nothing. Returns the row as it now is. ``KeyError``: no row."""
        ...


def read(db: sqlite3.Connection, layer: str) -> StoredCluster | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM clusters WHERE layer = ?", (layer,)).fetchone()
    return None if row is None else StoredCluster(*row)


def keep_first(db: sqlite3.Connection, first: StoredCluster) -> StoredCluster:
    """Inside the caller's transaction: insert ``first`` if the layer has no row, and
    return the row (``first``, or what another writer kept before)."""
    db.execute(
        f"INSERT OR IGNORE INTO clusters ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            first.layer,
            first.pki,
            first.token,
            first.token_expires,
            first.certificate_key,
            first.created,
            first.rotated,
        ),
    )
    kept = read(db, first.layer)
    assert kept is not None  # inserted just now, or already there, in this transaction
    return kept


def replace_token(
    db: sqlite3.Connection, layer: str, replacing: str, token: str, expires: float, now: float
) -> StoredCluster:
    """Inside the caller's transaction: the compare-and-swap of a token (see the module's
    docstring). ``KeyError`` naming the layer when it has no row."""
    db.execute(
        "UPDATE clusters SET token = ?, token_expires = ?, rotated = ? "
        "WHERE layer = ? AND token = ?",
        (token, expires, now, layer, replacing),
    )
    kept = read(db, layer)
    if kept is None:
        raise KeyError(layer)
    return kept
