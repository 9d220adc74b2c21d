"""What a move does with the controller of the end it leaves, and what a way back
(``--back``) does with what the move away installed (docs/pivot.md, "The way back").

- The source's controller — the host controller the move away started (a way back;
  ``strata.pivot.host``, its pid file beside the state) and the replicas of the
  source's Deployment ``strata-controller`` (any move from a cluster) — is not a block
  of preflight: it is said (a dry run says it would be stopped: pid and pid file, or
  the replicas), left running while preflight may still refuse, and stopped once the
  source is frozen, before the copy (nothing it writes can land behind the copy):
  SIGTERM, or the Deployment scaled to 0, recorded first in the journal's
  ``created`` (``host_stopped``, ``scaled_down``), then its Leases awaited given back
  (``GIVE_BACK_WAIT``). A rollback starts it again first (``restart_host``, the
  Deployment scaled up again) — never zero controllers after a refused or rolled-back
  move, never two writers (frozen, it drives nothing). A controller holding Leases
  there that is neither (one run by hand, replicas or not: its identity is no pod
  of the Deployment's, ``deployment_pods``) still blocks, named.
- At resume (past the switch: the commit point) the cluster left has its controller's
  Deployment scaled to 0 (``scale_down``: its replicas kept in the annotation
  ``strata.dev/replicas``, so a move back scales it up again), and a way back removes
  what the move away installed there — the journal's ``created`` of that move, carried
  as ``created["left"]``: the controller's objects, the Secrets copied from the
  bootstrap machine or another cluster, the Topology object. The moved state's copy,
  the namespace and the CRDs are kept on purpose (said, with how to remove them).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

from strata.pivot.copying import CopyRefused
from strata.pivot.deleting import delete_read
from strata.pivot.edits import edited
from strata.pivot.host import (
    host_files,
    identity,
    live_holders,
    recorded_command,
    restart_host,
    running,
    stop_host,
)
from strata.pivot.journal import Journal
from strata.pivot.moving import PivotFailed
from strata.pivot.preflight import CONTROLLER, Finding
from strata.pivot.resume import DEPLOYMENT, REPLICAS, scale_up
from strata.pivot.steady import in_flight, names
from strata.pivot.undo import Undoing
from strata.store import KubeStore
from strata.store.kube_api import KubeApi, short_path

__all__ = ["HandingBack", "deployment_pods", "scale_down"]

_CARRIED = ("objects", "secrets", "topology", "namespace", "crds", "versions")
GIVE_BACK_WAIT = 60.0  # seconds a stopped controller is given to give its Leases back


def replicas(api: KubeApi, namespace: str) -> int:
    """The replicas of the Deployment ``strata-controller`` (0: none there)."""
    found = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}")
    return int(((found or {}).get("spec") or {}).get("replicas", 1)) if found else 0


def deployment_pods(api: KubeApi, namespace: str) -> list[str]:
    """The names of the pods of the Deployment ``strata-controller`` (its
    ``spec.selector.matchLabels``, apps/v1) not finished (phase neither Succeeded nor
    Failed): a replica's identity in its Leases is its pod's name."""
    found = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}")
    labels = (((found or {}).get("spec") or {}).get("selector") or {}).get("matchLabels")
    if not labels:
        return []
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = api.items(f"/api/v1/namespaces/{namespace}/pods", selector)
    done = ("Succeeded", "Failed")
    return sorted(
        p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") not in done
    )


def scale_down(api: KubeApi, namespace: str) -> str | None:
    """The Deployment ``strata-controller`` of ``namespace`` scaled to 0 (a JSON merge
    patch of ``spec.replicas``, apps/v1), its replicas kept in ``strata.dev/replicas``;
    a line to say, or None when there is none or it runs none."""
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}"
    count = replicas(api, namespace)
    if count <= 0:
        return None
    patch = {"metadata": {"annotations": {REPLICAS: str(count)}}, "spec": {"replicas": 0}}
    api.merge(path, patch)
    return (
        f"controller: deployment/{DEPLOYMENT} in {namespace} (the cluster left) scaled from "
        f"{count} to 0 ({REPLICAS}: {count} kept for a move back)"
    )


class HandingBack(Undoing):
    def _left_host(self) -> tuple[Path, Path] | None:
        """(pid file, log) of the host controller the move being reversed started: on a
        way back from a cluster; None otherwise."""
        if not self.options.back or self.source_end.kind != "kube":
            return None
        return host_files(self.target_end, self.source_end)

    def handback_findings(self, found: list[Finding]) -> list[Finding]:
        """Preflight's findings with the source's controller block replaced by notes
        when what holds the source's Leases is the host controller the move away
        started (alive: its pid file) or the source Deployment's replicas."""
        mine = f"{CONTROLLER} the source's namespace"
        if not isinstance(self.source, KubeStore) or not any(
            lv == "block" and t.startswith(mine) for lv, t in found
        ):
            return found
        api, namespace = self.source.api, self.source_end.namespace
        files = self._left_host()
        pid = running(files[0]) if files is not None else None
        count = replicas(api, namespace)
        others = set(live_holders(api, namespace)) - ({identity()} if pid else set())
        strangers = sorted(others - set(deployment_pods(api, namespace)))
        if strangers:  # a controller neither the move nor its Deployment runs
            block = (
                f"{mine} ({', '.join(strangers)} hold its Leases: neither the host controller "
                f"the move here started nor a pod of deployment/{DEPLOYMENT}; one run by "
                "hand?): stop it first"
            )
            return [("block", block) if t.startswith(mine) else (lv, t) for lv, t in found]
        verb = "would" if self.options.dry_run else "will"
        notes = []
        if pid is not None and files is not None:
            notes.append(
                f"the host controller the move here started runs (pid {pid}, from its pid "
                f"file {files[0]}): the move {verb} stop it once the source is frozen (and "
                "start it again if the move is rolled back)"
            )
        if count:
            notes.append(
                f"deployment/{DEPLOYMENT} runs {count} replica(s) ({', '.join(sorted(others))}"
                f"): the move {verb} scale it to 0 once the source is frozen and await its "
                f"Leases given back (and scale it to {count} again if the move is rolled back)"
            )
        out: list[Finding] = []
        for level, text in found:
            out += [("note", n) for n in notes] if text.startswith(mine) else [(level, text)]
        return out

    def _stop_left_host(self) -> None:
        """Under the freeze, before the copy: the source's controller stopped (recorded
        first; module doc) and its Leases awaited given back; ``CopyRefused`` (a
        rollback) when they are not, or when it left a server in flight."""
        journal, files = self.journal, self._left_host()
        assert journal is not None
        stopped = False
        if files is not None and running(files[0]) is not None:
            journal.created = {
                **journal.created,
                "host_stopped": str(files[0]),
                "host_command": recorded_command(files[0]),
            }
            self._write()
            pid = stop_host(files[0])
            stopped = True
            self.say(
                f"controller: the host controller the move here started (pid {pid}) stopped, "
                f"the source frozen (its command kept in {files[0]})"
            )
        if isinstance(self.source, KubeStore):
            api, namespace = self.source.api, self.source_end.namespace
            count = replicas(api, namespace)
            if count > 0:
                journal.created = {**journal.created, "scaled_down": count}
                self._write()
                self.say(f"{scale_down(api, namespace)}, the source frozen")
            if stopped or journal.created.get("scaled_down"):
                _await_given_back(api, namespace)
                stopped = True
        busy = in_flight(self.source) if stopped else {}
        if busy:
            raise CopyRefused(f"servers in flight once its controller stopped: {names(busy)}")

    def rollback(self, reason: str, first: tuple[str, ...] = ()) -> None:
        """The source's controller the move stopped started again first (its Deployment
        scaled up, the host controller from its pid file or the command the journal
        kept: frozen, they wait), then the rollback (``Undoing.rollback``: the reason
        said first); what a way back carries is kept. ``PivotFailed`` after it when the
        host controller could not be started again (the command to run said)."""
        journal = self.journal
        assert journal is not None
        left = journal.created.get("left")
        lines, down = self._controller_again()
        super().rollback(reason, (*first, *lines))
        if left and "left" not in journal.created:
            journal.created = {**journal.created, "left": left}
            self.kept.write(journal)
        if down:
            raise PivotFailed(down)

    def _controller_again(self) -> tuple[list[str], str]:
        """The source's controller started again: lines to say, and what is left without
        one ("" when nothing is)."""
        journal = self.journal
        assert journal is not None
        lines: list[str] = []
        if journal.created.get("scaled_down") and isinstance(self.source, KubeStore):
            namespace = self.source_end.namespace
            try:
                lines.append(str(scale_up(self.source.api, namespace)))
            except Exception as failure:  # the rollback goes on; what to do is said
                lines.append(
                    f"deployment/{DEPLOYMENT} not scaled up again ({failure}): "
                    f"kubectl -n {namespace} scale deployment/{DEPLOYMENT} "
                    f"--replicas={journal.created['scaled_down']}"
                )
        stopped = journal.created.get("host_stopped")
        if not stopped:
            return lines, ""
        pid_file, command = Path(stopped), journal.created.get("host_command")
        log = pid_file.with_suffix(".log")
        try:
            found = restart_host(pid_file, log, command)
        except OSError as failure:
            found, why = None, f"{type(failure).__name__}: {failure}"
        else:
            why = f"its pid file {pid_file} holds no command and the journal kept none"
        if found is not None:
            how = "started again" if found[1] else "runs"
            lines.append(f"the host controller the way back stopped {how} (pid {found[0]})")
            return lines, ""
        run = (
            f"start it with `setsid {shlex.join(command)} >>{log} 2>&1 &`"
            if command
            else "start `strata controller` against it by hand, as the move away did"
        )
        down = (
            f"NO CONTROLLER: the host controller the way back stopped was not started again "
            f"({why}); {self.source_end.describe()} has none: {run}"
        )
        lines.append(down)
        return lines, down

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


def _await_given_back(api: KubeApi, namespace: str) -> None:
    """Until no controller holds a live shard or member Lease in ``namespace``;
    ``CopyRefused`` after ``GIVE_BACK_WAIT`` seconds, naming the holders."""
    deadline = time.monotonic() + GIVE_BACK_WAIT
    while held := live_holders(api, namespace):
        if time.monotonic() > deadline:
            raise CopyRefused(
                f"the source's controller Leases are still held after {GIVE_BACK_WAIT:.0f} s "
                f"({', '.join(held)}): a controller the move does not run? stop it"
            )
        time.sleep(0.5)


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
    recorded, lines = made.get("versions") or {}, []
    for path in list(removed):
        there = api.get(path)
        change = edited(there, recorded[path]) if path in recorded else None
        if change is not None:  # a person's edit since the move made it: theirs now
            removed.remove(path)
            lines.append(
                f"left behind: kept {short_path(path)}: edited in the cluster since move "
                f"{left.get('move')} made it ({change}); to remove it: {_kubectl_delete(path)}"
            )
            continue
        if there is not None and (refused := delete_read(api, path, there)) is not None:
            removed.remove(path)  # changed between the read and the delete: kept, said
            lines.append(f"left behind: {refused}; to remove it: {_kubectl_delete(path)}")
    shown = ", ".join(short_path(p) for p in removed) or "nothing"
    lines.insert(0, f"left behind: removed what move {left.get('move')} installed there: {shown}")
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


def _kubectl_delete(path: str) -> str:
    """``/apis/strata.dev/v1alpha1/namespaces/ns/topologies/x`` ->
    ``kubectl -n ns delete topologies.strata.dev/x`` (a Secret: ``secret/x``)."""
    parts = path.strip("/").split("/")
    group = "" if parts[0] == "api" else "." + parts[1]
    namespace, resource, name = parts[-3], parts[-2], parts[-1]
    return f"`kubectl -n {namespace} delete {resource}{group}/{name}`"
