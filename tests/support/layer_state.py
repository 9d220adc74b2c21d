"""A state file as `strata apply` leaves it for one topology's layer: a record per
node of the topology (its real plan, in the state given), and the layer's cluster
material (PKI, bootstrap token, certificate key) kept as a run keeps it — for
``strata pivot --to LAYER`` and apply's automatic pivot."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from strata.kube.material_store import ClusterMaterial, cluster_material
from strata.plan import build_plan
from strata.plan.model import to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import load

__all__ = ["lab_file", "layer_state"]

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab" / "topology.yaml"


def lab_file(directory: Path, endpoint: Mapping[str, Any], pivot: bool = True) -> Path:
    """The lab example as ``directory/topology.yaml``, its layer mgmt's endpoint at
    ``endpoint`` (a loopback VIP: its network ``bmc`` is made 127.0.0.0/8) and marked
    ``pivot`` or not."""
    document = yaml.safe_load(LAB.read_text())
    document["networks"][0]["cidr"] = "127.0.0.0/8"
    document["layers"][0]["endpoint"] = dict(endpoint)
    document["layers"][0]["pivot"] = pivot
    file = directory / "topology.yaml"
    file.write_text(yaml.safe_dump(document))
    return file


def layer_state(
    state: Path, file: Path, states: str | Mapping[str, str], layer: str | None = "mgmt"
) -> ClusterMaterial | None:
    """Writes the state file at ``state``: every node of FILE in ``states`` (one state
    for all, or by node; a node not named has no record), and ``layer``'s material
    (None: none kept). Returns the material."""
    plan = build_plan(load(file))
    store = SQLiteStore(state)
    try:
        wanted = {n.name: states for n in plan.nodes} if isinstance(states, str) else states
        store.write_records(
            [
                RecordWrite(
                    n.name,
                    0,
                    wanted[n.name],
                    plan=to_jsonable(n),
                    event=("declared", {}),
                )
                for n in plan.nodes
                if n.name in wanted
            ]
        )
        if layer is None:
            return None
        cluster = next(c for c in plan.clusters if c.name == layer)
        now = datetime.datetime.now(datetime.UTC)
        return cluster_material(store, cluster, now, all_joined=lambda: True)
    finally:
        store.close()
