"""Step 7, resume: the target's controller started, once the move has switched and the
target's writer lease is released for it (docs/pivot.md, "Resume and the handover").

``Options.controller`` says how:

- ``cluster``: the Deployment ``strata-controller`` the install made paused (replicas
  0, the replicas wanted in its annotation ``strata.dev/replicas``) is scaled to them
  (apps/v1 Deployment, a JSON merge patch of ``spec.replicas``). One already scaled
  (replicas above 0) is left as it is.
- ``host`` (``strata.pivot.host``, re-exported here): ``strata controller
  --kubeconfig K --namespace N --identity strata-host-H`` with ``Options.host_args`` (--listen, --url, --dhcp-interface, --until ...) started
  on this machine against the target, detached (its own session), its log and pid file
  beside the state (``host_files``) — the way operator projects run a controller out
  of cluster while it cannot run in it. It inherits this process's environment, so
  BMC passwords the topology reads from variables or files are found as before.
  Before it starts, the boot endpoint it listens on must be free: the source's boot
  service stops on its own at the switch (``strata serve`` exits when its lease says
  ``moved``); after ``FREE_WAIT`` seconds it is a failure the rerun retries.
- ``auto``: ``cluster`` when a Node is Ready, runs pods (``strata.pivot.nodes``: its
  runtime holds an image), is schedulable and carries no taint the
  Deployment's pods do not tolerate (Kubernetes "Taints and Tolerations"), else
  ``host``.
- ``none``: nothing started (the library's default).

Done again after a crash, it starts nothing twice: a host controller whose pid file
names a live process with the same command line is kept, and none is started while any
controller holds a live shard or member Lease in the target's namespace
(``strata.operator.shards``).
"""

from __future__ import annotations

import time
from typing import Any

from strata.operator.manifests import NAME, REPLICAS_ANNOTATION
from strata.pivot.ends import End
from strata.pivot.host import (  # the host controller's part, re-exported here
    ResumeFailed,
    _free,
    _spawn,
    _write_pid,
    dhcp_here,
    host_files,
    identity,
    listen_of,
    live_holders,
    restart_host,
    running,
    start_host,
    stop_host,
)
from strata.pivot.moving import Options
from strata.pivot.nodes import runs_pods, why_none
from strata.store import KubeStore, MovableStore
from strata.store.kube_api import KubeApi, KubeStoreError

__all__ = [
    "DEPLOYMENT",
    "MODES",
    "REPLICAS",
    "ResumeFailed",
    "_free",
    "_spawn",
    "_write_pid",
    "dhcp_here",
    "host_files",
    "identity",
    "listen_of",
    "live_holders",
    "restart_host",
    "running",
    "start_controller",
    "start_host",
    "stop_host",
]

DEPLOYMENT = NAME  # deploy/deployment.yaml
REPLICAS = REPLICAS_ANNOTATION  # the replicas a paused Deployment is scaled to
MODES = ("auto", "cluster", "host", "none")
TAKE_WAIT = 60.0  # seconds a replica is given to announce itself (its member Lease)


def start_controller(options: Options, source: End, target: End, store: MovableStore) -> None:
    """Start the target's controller as ``options.controller`` says (module doc).
    Raises ``ResumeFailed`` (a missing Deployment, a boot endpoint still taken, a host
    controller that exits or never announces itself)."""
    mode, say = options.controller, options.say
    if mode == "none":
        say("controller: none started (--controller none): start it in the cluster or on a host")
        return
    if not isinstance(store, KubeStore):
        say(f"controller: {target.describe()} is a state file: `strata apply` drives it")
        return
    api = store.api
    if mode == "auto":
        nodes = schedulable(api, target.namespace)
        mode = "cluster" if nodes else "host"
        why = f"Nodes can run it: {', '.join(nodes[:3])}" if nodes else why_none(api)
        say(f"controller: auto -> {mode} ({why})")
    if mode == "cluster":
        say(scale_up(api, target.namespace))
        say(await_replica(api, target.namespace))
    elif mode == "host":
        say(start_host(options.host_args, source, target, api))
    else:
        raise ResumeFailed(f"--controller {mode}: not one of {', '.join(MODES)}")


# -- cluster -------------------------------------------------------------------------


def _deployment_path(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}"


def scale_up(api: KubeApi, namespace: str) -> str:
    """The paused Deployment scaled to its ``strata.dev/replicas`` (1 without it);
    what was done, as a line."""
    path = _deployment_path(namespace)
    found = api.get(path)
    if found is None:
        raise ResumeFailed(
            f"no Deployment {DEPLOYMENT} in namespace {namespace}: install it "
            "(docs/in-cluster.md) or run the controller on a host (--controller host)"
        )
    current = int((found.get("spec") or {}).get("replicas", 1))
    if current > 0:
        return f"controller: deployment/{DEPLOYMENT} already runs {current} replica(s)"
    annotations = (found.get("metadata") or {}).get("annotations") or {}
    try:
        wanted = max(1, int(annotations.get(REPLICAS, "1")))
    except ValueError:
        wanted = 1
    api.merge(path, {"spec": {"replicas": wanted}})
    return f"controller: deployment/{DEPLOYMENT} in {namespace} scaled from 0 to {wanted}"


def await_replica(api: KubeApi, namespace: str) -> str:
    """Whether a replica of the Deployment runs: its member Lease live within
    ``TAKE_WAIT`` seconds — not awaited when no Node can run it (said at once). A line
    to say; never a failure (the move is done; the Deployment starts when it can)."""
    if not schedulable(api, namespace):
        return "controller: no Node can run its pods yet: it starts once one can"
    deadline = time.monotonic() + TAKE_WAIT
    while time.monotonic() < deadline:
        holders = live_holders(api, namespace)
        if holders:
            return f"controller: running in the cluster ({', '.join(holders)})"
        time.sleep(1.0)
    return (
        f"controller: no replica took a Lease within {TAKE_WAIT:.0f} s: "
        f"see kubectl -n {namespace} get pods -l app.kubernetes.io/name={DEPLOYMENT}"
    )


def schedulable(
    api: KubeApi, namespace: str, nodes: list[dict[str, Any]] | None = None
) -> list[str]:
    """The Nodes the controller's pods could run on: Ready, running pods, not cordoned, every
    NoSchedule/NoExecute taint tolerated by the Deployment's pod template (none:
    no toleration). ``nodes``: the Nodes already read (None: listed here). A cluster
    whose Nodes cannot be listed counts as none."""
    found = api.get(_deployment_path(namespace)) or {}
    template = ((found.get("spec") or {}).get("template") or {}).get("spec") or {}
    tolerations = template.get("tolerations") or []
    if nodes is None:
        try:
            nodes = list(api.items("/api/v1/nodes"))
        except KubeStoreError:
            return []
    return [
        n["metadata"]["name"]
        for n in nodes
        if _ready(n) and runs_pods(n) and not (n.get("spec") or {}).get("unschedulable")
        if all(_tolerated(t, tolerations) for t in (n.get("spec") or {}).get("taints") or [])
    ]


def _ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _tolerated(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    """Kubernetes' matching: an empty key with Exists tolerates every taint; else the
    key equal and (Exists, or the value equal), the effect empty or equal."""
    if taint.get("effect") not in ("NoSchedule", "NoExecute"):
        return True
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        exists = t.get("operator") == "Exists"
        if exists and not t.get("key"):
            return True
        if t.get("key") == taint.get("key") and (exists or t.get("value") == taint.get("value")):
            return True
    return False
