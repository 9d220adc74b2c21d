"""Preflight: read-only, every finding at once, before anything is written.

A finding is ``(level, text)``: ``ok``, ``note`` (said, not in the way) or ``block``
(the move is refused). What is checked (docs/pivot.md, "Preflight"):

- the source: readable; who holds its writer lease (free, or this move's own freeze
  when resuming; a live controller or an earlier move away blocks); on a Kubernetes
  source, no in-cluster controller replica holding a shard Lease; every server
  steady (no machine action in flight, no open boot attempt); no failed server unless
  allowed;
- the target: its API answers with the kubeconfig's credential; Strata's CRDs absent
  (installed by the move) or serving this version; its namespace (created when
  absent); no state of this topology there unless this move's own or left by an
  earlier move to the source (then cleared and overwritten); its writer lease free.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

from strata.pivot.credentials import digests, references
from strata.pivot.digest import EVERY
from strata.pivot.ends import End, marker, move_holding, moved_to
from strata.pivot.install import crd_findings, read_crds, topology_object
from strata.pivot.journal import Journal
from strata.pivot.steady import IN_FLIGHT, in_flight, names, states
from strata.pivot.versions import version_findings
from strata.store import KubeStore, MovableStore
from strata.store.kube_api import KubeApi

__all__ = [
    "CONTROLLER",
    "IN_FLIGHT",
    "SERVERS_IN_FLIGHT",
    "Finding",
    "blocking",
    "check_source",
    "check_target",
    "driving",
    "plan_lines",
    "target_exists",
    "waitable",
]

Finding = tuple[str, str]
CONTROLLER = "an in-cluster controller runs in"  # a block a resumed move honours too
SERVERS_IN_FLIGHT = "servers in flight"  # the block the move waits on (--wait-steady)
WRITER_BUSY = "holds the source's writer lease: stop it first"
SOURCE_CONTROLLER = f"{CONTROLLER} the source's namespace"


def blocking(findings: list[Finding]) -> list[str]:
    return [text for level, text in findings if level == "block"]


def check_source(
    store: MovableStore,
    end: End,
    journal: Journal | None,
    allow_failed: bool,
    to_file: bool = False,
) -> list[Finding]:
    """What preflight finds at the source ``end``; ``to_file``: the target is a state
    file (the Topology's Secrets do not move: it reads the passwords here)."""
    found: list[Finding] = []
    records = store.records()
    if not records and not store.export_nodes() and not store.events_since(0, 1):
        text = f"source {end.describe()}: no state of {end.topology}: nothing to move"
        found.append(("block", text + " (the wrong --state, -t, --namespace or context?)"))
    else:
        found.append(("ok", f"source {end.describe()}: {len(records)} records of {end.topology}"))
    found += _writer(store, journal, end)
    if isinstance(store, KubeStore):
        found += version_findings(read_crds(store.api), "source")
        found += _shard_holders(store.api, end.namespace)
        found += _referenced_secrets(store.api, end, to_file)
    busy = in_flight(store)
    if busy:
        counts = ", ".join(f"{state} {count}" for state, count in states(busy))
        text = f"{SERVERS_IN_FLIGHT} ({counts}): {names(busy)}"
        found.append(("block", text))
    else:
        found.append(("ok", "every server is steady: no machine action, no boot attempt open"))
    failed = sorted(n for n, r in records.items() if r.state == "failed")
    if failed:
        level = "note" if allow_failed else "block"
        found.append(
            (
                level,
                f"failed servers (--allow-failed moves them as they are): {', '.join(failed[:10])}",
            )
        )
    layers = store.cluster_layers()
    found.append(
        ("ok", f"secrets: the boot token key, and the cluster PKI/tokens of {layers or 'no layer'}")
    )
    return found


def _writer(store: MovableStore, journal: Journal | None, end: End) -> list[Finding]:
    writer = store.writer()
    if writer is None:
        return [("ok", "the source's writer lease is free: the move freezes it")]
    holder = writer[0]
    if (
        journal is not None
        and journal.unfinished
        and holder
        in (
            marker("frozen", journal.move, journal.target),
            marker("moved", journal.move, journal.target),
        )
    ):
        return [("note", f"resuming move {journal.move}: {holder}")]
    if holder.startswith("the controller in "):
        return [
            (
                "block",
                f"this state's management plane moved away: {holder} (strata pivot --back there)",
            )
        ]
    return [("block", f"{holder} {WRITER_BUSY}")]


def waitable(findings: list[Finding]) -> bool:
    """Whether the move should wait (``steady.wait``) before it is refused: servers are
    in flight, and every other block is what may be driving them to a steady state (a
    live ``strata apply`` holding the writer lease, an in-cluster controller)."""
    blocks = blocking(findings)
    return any(b.startswith(SERVERS_IN_FLIGHT) for b in blocks) and all(
        b.startswith(SERVERS_IN_FLIGHT) or b.endswith(WRITER_BUSY) or SOURCE_CONTROLLER in b
        for b in blocks
    )


def driving(store: MovableStore, end: End) -> str | None:
    """What acts on the source's servers now: the writer lease's live holder (not a
    move's marker), the in-cluster controller replicas holding shard Leases; None."""
    writer = store.writer()
    found = [writer[0]] if writer is not None and move_holding(writer[0]) is None else []
    if isinstance(store, KubeStore):
        found += [text for _, text in _shard_holders(store.api, end.namespace)]
    return "; ".join(found) or None


def _referenced_secrets(api: KubeApi, end: End, to_file: bool = False) -> list[Finding]:
    """The Topology object and the Secrets it refers to, which move with it to a
    cluster; to a state file they do not (missing ones are a note: the state file reads
    the BMC passwords from this machine's environment and files, as before a move)."""
    found = topology_object(api, end.namespace, end.topology)
    if found is None:
        return [("note", f"no Topology object {end.topology} in {end.namespace}: none moves")]
    refs = references(found.get("spec") or {}, end.namespace)
    values = digests(api, refs, (end.namespace, end.namespace))
    missing = sorted(k for k, v in values.items() if v == "absent")
    if missing and to_file:
        return [
            (
                "note",
                f"the Topology refers to Secrets not in the source ({', '.join(missing)}): "
                "they do not move to a state file, which reads the BMC passwords from this "
                "machine's environment and files (the topology's credentials), as before the move",
            )
        ]
    if missing:
        return [
            ("block", f"the Topology refers to Secrets missing in the source: {', '.join(missing)}")
        ]
    return [("ok", f"the Topology object moves with the {len(refs)} Secret keys it refers to")]


def _shard_holders(api: KubeApi, namespace: str, where: str = "the source") -> list[Finding]:
    """In-cluster controller replicas hold ``strata-shard-<i>`` Leases (strata.operator.shards)."""
    now, live = time.time(), []
    for lease in api.items(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"):
        spec, name = lease.get("spec") or {}, lease["metadata"]["name"]
        if not name.startswith("strata-shard-") or not spec.get("holderIdentity"):
            continue
        renewed = datetime.datetime.fromisoformat(str(spec.get("renewTime")).replace("Z", "+00:00"))
        if renewed.timestamp() + float(spec.get("leaseDurationSeconds") or 0) > now:
            live.append(str(spec["holderIdentity"]))
    if live:
        holders = ", ".join(sorted(set(live)))
        text = f"{CONTROLLER} {where}'s namespace ({holders}): scale it to 0 first"
        return [("block", text)]
    return []


def check_target(
    end: End,
    store: MovableStore | None,
    source: End,
    journal: Journal | None,
) -> list[Finding]:
    """``store`` None: a state file that does not exist yet (it will be made). Whether
    the target can run the controller is checked with the boot service's reach, on one
    read of its Nodes (``strata.pivot.reach.controller_findings``, from the install's
    findings)."""
    if store is None:
        return [("ok", f"target {end.describe()}: does not exist yet, it will be made")]
    found: list[Finding] = []
    if isinstance(store, KubeStore):
        try:
            version = store.api.get("/version") or {}
        except Exception as failure:
            return [
                ("block", f"target {end.describe()}: the API server was not reached ({failure})")
            ]
        found.append(("ok", f"target {end.describe()}: Kubernetes {version.get('gitVersion')}"))
        crds = read_crds(store.api)  # once: the versions and what they serve
        found += version_findings(crds, "target")
        found += crd_findings(crds)
        if store.api.get(f"/api/v1/namespaces/{end.namespace}") is None:
            return [*found, ("note", f"namespace {end.namespace} does not exist: it will be made")]
        if crds.get("servers.strata.dev") is None:
            return found
        found += _shard_holders(store.api, end.namespace, "the target")
    return found + _target_state(store, source, journal)


def _target_state(store: MovableStore, source: End, journal: Journal | None) -> list[Finding]:
    writer = store.writer()
    holder = writer[0] if writer else None
    ours = (
        journal is not None
        and journal.owned
        and holder
        in (
            marker("receiving", journal.move, source),
            marker("taking-over", journal.move, source),
        )
    )
    if ours:
        return [("note", "the target holds this move's own partial copy: the copy goes on")]
    if moved_to(holder, source):
        return [
            (
                "note",
                f"the target was left by an earlier move to the source ({holder}): it is cleared and overwritten",
            )
        ]
    if holder is not None:
        return [("block", f"{holder} holds the target's writer lease")]
    count = len(store.records())
    if count or store.events_since(0, 1):
        return [
            (
                "block",
                f"the target already holds state of {source.topology} ({count} records): a conflict, not overwritten",
            )
        ]
    return [("ok", "the target holds no state of this topology")]


def target_exists(end: End) -> bool:
    return end.kind != "sqlite" or Path(end.path).exists()


def plan_lines(store: MovableStore, source_end: End, target_end: End) -> list[str]:
    """The plan of the move, as ``--dry-run`` prints it (read-only)."""
    nodes, entries = store.export_nodes(), len(store.events_since(0, EVERY))
    source, target = source_end.describe(), target_end.describe()
    made = "namespace and CRDs where absent" if target_end.kind == "kube" else "the state file"
    return [
        f"1. freeze: the writer lease of {source} marked 'moving to {target}'",
        f"2. install: {made}; the target's writer lease taken",
        f"3. copy: {len(nodes)} nodes (records, attempts, used token stages), {entries} log "
        f"entries (newest that the target keeps), {len(store.cursors())} cursors, the secrets "
        f"of {len(store.cluster_layers())} layers and the boot token key",
        "4. verify: counts and a digest per node, log entry, secret equal on both sides",
        f"5. switch: the target's lease taken, then the source's: 'moved to {target}'",
        "6. resume: the target's lease released for its controller",
        "dry run: nothing was written",
    ]
