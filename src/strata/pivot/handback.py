"""What a move does with the controller of the end it leaves, and what a way back
(``--back``) does with what the move away installed (docs/pivot.md, "The way back").

- The host controller the move away started (``strata.pivot.host``; its pid file beside
  the state) is not a block of the way back's preflight: it is said (a dry run says
  it would be stopped, pid and pid file), left running while preflight may still
  refuse, stopped once the source is frozen (before the copy: nothing it writes can
  land behind the copy), its pid file recorded first in the journal's
  ``created["host_stopped"]``, and started again from its pid file's command when the
  way back is rolled back (``restart_host``) — never zero controllers after a refused
  or rolled-back way back, never two writers (frozen, it drives nothing).
- At resume (past the switch: the commit point) the cluster left has its controller's
  Deployment scaled to 0 (``scale_down``: its replicas kept in the annotation
  ``strata.dev/replicas``, so a move back scales it up again), and a way back removes
  what the move away installed there — the journal's ``created`` of that move, carried
  as ``created["left"]``: the controller's objects, the Secrets copied from the
  bootstrap machine or another cluster, the Topology object. The moved state's copy,
  the namespace and the CRDs are kept on purpose (said, with how to remove them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strata.pivot.copying import CopyRefused
from strata.pivot.host import host_files, identity, live_holders, restart_host, running, stop_host
from strata.pivot.journal import Journal
from strata.pivot.preflight import CONTROLLER, Finding
from strata.pivot.steady import in_flight, names
from strata.pivot.undo import Undoing
from strata.store import KubeStore
from strata.store.kube_api import KubeApi

__all__ = ["HandingBack", "scale_down"]

DEPLOYMENT = "strata-controller"  # deploy/deployment.yaml (``resume.DEPLOYMENT``)
REPLICAS = "strata.dev/replicas"  # the replicas a paused Deployment is scaled to
_CARRIED = ("objects", "secrets", "topology", "namespace", "crds")


def scale_down(api: KubeApi, namespace: str) -> str | None:
    """The Deployment ``strata-controller`` of ``namespace`` scaled to 0 (a JSON merge
    patch of ``spec.replicas``, apps/v1), its replicas kept in ``strata.dev/replicas``;
    a line to say, or None when there is none or it runs none."""
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}"
    found = api.get(path)
    replicas = int(((found or {}).get("spec") or {}).get("replicas", 1)) if found else 0
    if replicas <= 0:
        return None
    patch = {"metadata": {"annotations": {REPLICAS: str(replicas)}}, "spec": {"replicas": 0}}
    api.merge(path, patch)
    return (
        f"controller: deployment/{DEPLOYMENT} in {namespace} (the cluster left) scaled from "
        f"{replicas} to 0 ({REPLICAS}: {replicas} kept for a move back)"
    )


class HandingBack(Undoing):
    def _left_host(self) -> tuple[Path, Path] | None:
        """(pid file, log) of the host controller the move being reversed started: on a
        way back from a cluster; None otherwise."""
        if not self.options.back or self.source_end.kind != "kube":
            return None
        return host_files(self.target_end, self.source_end)

    def handback_findings(self, found: list[Finding]) -> list[Finding]:
        """Preflight's findings with the source's controller block replaced by a note
        when what holds the source's Leases is only the host controller the move away
        started (alive: its pid file)."""
        files = self._left_host()
        pid = running(files[0]) if files is not None else None
        if files is None or pid is None or not isinstance(self.source, KubeStore):
            return found
        if set(live_holders(self.source.api, self.source_end.namespace)) - {identity()}:
            return found  # another controller runs there: the block stands
        verb = "would stop" if self.options.dry_run else "stops"
        note = (
            f"the host controller the move here started runs (pid {pid}, from its pid file "
            f"{files[0]}): the way back {verb} it once the source is frozen (it starts it "
            "again if the way back is rolled back)"
        )
        mine = f"{CONTROLLER} the source's namespace"
        return [("note", note) if t.startswith(mine) else (lv, t) for lv, t in found]

    def _stop_left_host(self) -> None:
        """Under the freeze, before the copy: the host controller stopped (recorded
        first); ``CopyRefused`` (a rollback) when it left a server in flight."""
        journal, files = self.journal, self._left_host()
        assert journal is not None
        if files is None or running(files[0]) is None:
            return
        journal.created = {**journal.created, "host_stopped": str(files[0])}
        self._write()
        pid = stop_host(files[0])
        self.say(
            f"controller: the host controller the move here started (pid {pid}) stopped, "
            f"the source frozen (its command kept in {files[0]})"
        )
        busy = in_flight(self.source)
        if busy:
            raise CopyRefused(f"servers in flight once its controller stopped: {names(busy)}")

    def rollback(self, reason: str) -> None:
        """The host controller a way back stopped started again first (frozen, it waits),
        then the rollback (``Undoing.rollback``); what the way back carries is kept."""
        journal = self.journal
        assert journal is not None
        stopped, left = journal.created.get("host_stopped"), journal.created.get("left")
        if stopped:
            pid_file = Path(stopped)
            found = restart_host(pid_file, pid_file.with_suffix(".log"))
            if found is not None:
                how = "started again" if found[1] else "runs"
                self.say(
                    f"rollback: the host controller the way back stopped {how} (pid {found[0]})"
                )
        super().rollback(reason)
        if left and "left" not in journal.created:
            journal.created = {**journal.created, "left": left}
            self.kept.write(journal)

    def carry_left(self, earlier: Journal | None) -> None:
        """A new way back's journal carries what the move away created in the cluster
        it leaves (``created["left"]``), from that move's journal or an earlier run of
        the way back."""
        journal = self.journal
        assert journal is not None
        if not journal.back or earlier is None:
            return
        if earlier.back:
            left = earlier.created.get("left")
        elif earlier.state == "done" and earlier.target.same_place(self.source_end):
            made = {k: v for k, v in earlier.created.items() if k in _CARRIED and v}
            left = {"move": earlier.move, "created": made}
        else:
            left = None
        if left:
            journal.created = {**journal.created, "left": left}

    def leave_source(self) -> None:
        """At resume: the cluster left gets no controller (its host controller stopped,
        its Deployment scaled to 0); a way back removes what the move away installed."""
        if not isinstance(self.source, KubeStore):
            return
        api, namespace = self.source.api, self.source_end.namespace
        files = self._left_host()
        pid = stop_host(files[0]) if files is not None else None
        if pid is not None and files is not None:
            self.say(f"controller: the host controller in {files[0]} (pid {pid}) stopped")
        line = scale_down(api, namespace)
        if line is not None:
            self.say(line)
        journal = self.journal
        assert journal is not None
        left = journal.created.get("left")
        if journal.back and left:
            for text in _remove_left(api, namespace, left, self.source_end.topology):
                self.say(text)


def _remove_left(api: KubeApi, namespace: str, left: dict[str, Any], topology: str) -> list[str]:
    """Deletes what move ``left["move"]`` created in the cluster left (its objects,
    Secrets, Topology object); lines saying what was removed and what was kept."""
    made = left.get("created") or {}
    removed = []
    if made.get("topology"):
        path = f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies/{topology}"
        removed.append(path)
    removed += [
        f"/api/v1/namespaces/{where}/secrets/{name}"
        for where, name in (s.split("/", 1) for s in made.get("secrets") or [])
    ]
    removed += list(reversed(made.get("objects") or []))
    for path in removed:
        api.delete(path)
    shown = ", ".join(_short(p) for p in removed) or "nothing"
    lines = [f"left behind: removed what move {left.get('move')} installed there: {shown}"]
    kept = (
        f"kept in namespace {namespace}: the moved state's copy (Servers, the ConfigMaps and "
        f"Secrets labelled strata.dev/topology={topology}, the Lease {topology}-writer saying "
        "where the plane went: strata status there names it; the next move into it clears it)"
    )
    if made.get("namespace"):
        kept += f"; the namespace was made by that move: `kubectl delete namespace {namespace}` removes it all"
    else:
        kept += (
            f"; to remove it: `kubectl -n {namespace} delete servers.strata.dev,configmaps,secrets "
            f"-l strata.dev/topology={topology}` and `kubectl -n {namespace} delete lease {topology}-writer`"
        )
    if made.get("crds"):
        kept += (
            f"; the CRDs it made ({', '.join(made['crds'])}): `kubectl delete crd` them once no "
            "topology uses them"
        )
    return [*lines, kept]


def _short(path: str) -> str:
    """``/apis/apps/v1/namespaces/ns/deployments/x`` -> ``deployments/x``."""
    parts = path.rstrip("/").split("/")
    return "/".join(parts[-2:])
