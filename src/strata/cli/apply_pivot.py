"""The end of `strata apply`: the management plane moves into the cluster of the layer
marked ``pivot: true`` once every node of it is ``joined`` (issue 17; docs/pivot.md,
"Automatic pivot").

It runs after the run has ended: the boot service and DHCP stopped (``Manager.
reconcile`` stops what runs beside it before it returns) and the state's writer lease
released (the move takes it: frozen, then moved). The target is the layer's own
cluster, as ``strata pivot --to LAYER`` reaches it (``strata.cli.pivot_layer``), in
namespace ``strata``. A failed move is rolled back by the engine: the state file stays
in charge, and apply ends non-zero saying so.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from strata.cli.pivot_layer import layer_kubeconfig, not_joined, pivot_layer
from strata.cli.render import PIVOT_NAMESPACE
from strata.errors import StrataError
from strata.plan import Plan
from strata.store import SQLiteStore

__all__ = ["pivot_after_apply"]


def pivot_after_apply(file: Path, state: Path, plan: Plan, say: Callable[[str], None]) -> int:
    """Moves the state at ``state`` into the pivot layer's cluster (``plan``'s), saying
    each step; the exit code apply ends on: 0 moved (or no layer marked ``pivot``), else
    the failure's (the state file still in charge); 0 too when the layer is not all
    joined (held for consent): the plane stays here, said. Never raises a ``StrataError``."""
    layer = pivot_layer(plan)
    if layer is None:
        return 0
    again = f"`strata pivot -f {file} --to {layer.name}`"
    store = SQLiteStore(state)
    try:
        waiting = not_joined(layer, store)
        if waiting:
            say(f"pivot: not done: layer {layer.name} is not joined ({', '.join(waiting)})")
            return 0  # nothing failed: the plane stays here, as with --no-pivot
        try:
            now = datetime.datetime.now(datetime.UTC)
            kubeconfig = layer_kubeconfig(plan, layer.name, store, state.parent, now)
        except StrataError as refused:
            say(f"pivot: not done: {refused}")
            return refused.exit_code
    finally:
        store.close()
    say(f"pivot: layer {layer.name} is joined: the management plane moves into its cluster")
    try:
        _move(state, kubeconfig, plan.topology, say)
    except StrataError as failed:
        say(f"pivot failed: {failed}")
        say(f"the state file {state} is still in charge; fix the cause, then {again}")
        return failed.exit_code or 1
    return 0


def _move(state: Path, kubeconfig: Path, topology: str, say: Callable[[str], None]) -> None:
    from strata.pivot.ends import End
    from strata.pivot.engine import Options, Pivot

    target = End.kube(kubeconfig, PIVOT_NAMESPACE, topology)
    mover = Pivot(End.sqlite(state, topology), target, Options(say=say))
    try:
        mover.run()
    finally:
        mover.close()
