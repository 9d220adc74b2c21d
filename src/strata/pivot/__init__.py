"""Pivot: a topology's management plane — its whole state — moved from one store to
another (the embedded SQLite file to a cluster, a cluster to another, and back),
transactional, resumable and reversible (docs/pivot.md)."""

from strata.pivot.ends import End
from strata.pivot.engine import Options, Pivot, PivotFailed, PivotRefused

__all__ = ["End", "Options", "Pivot", "PivotFailed", "PivotRefused"]
