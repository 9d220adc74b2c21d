"""The install step's part beyond the namespace and CRDs: what the target's controller
needs (``strata.operator.manifests``, its Deployment paused) and, from a state file,
FILE's Topology object and BMC credentials' Secrets (``strata.pivot.from_file``) —
said in preflight (created, kept, or a conflict), created at install, recorded in the
journal's ``created["objects"]`` (their API paths) before they are made, so a
rollback removes exactly those (``install.remove``), and compared by verify."""

from __future__ import annotations

from strata.operator.manifests import object_path
from strata.pivot import failpoints, install
from strata.pivot.copying import CopyRefused
from strata.pivot.edits import tracked, versions
from strata.pivot.from_file import Handover, handover
from strata.pivot.moving import Moving
from strata.pivot.reach import controller_findings, provisioning
from strata.store import KubeStore
from strata.store.kube_api import KubeApi, Obj

__all__ = ["Installing"]

Finding = tuple[str, str]


class Installing(Moving):
    _handed: Handover | None = None

    def _handover(self) -> Handover | None:
        """FILE's part of a move from a state file into a cluster (None: no FILE, or
        another kind of move); made once per run."""
        options = self.options.install
        if options.file is None or (self.source_end.kind, self.target_end.kind) != (
            "sqlite",
            "kube",
        ):
            return None
        if self._handed is None:
            end = self.target_end
            self._handed = handover(options, end.namespace, self.source_end.topology)
        return self._handed

    def _wanted(self) -> list[Obj]:
        handed = self._handover()
        return install.controller_wanted(self.target_end.namespace) + (
            handed.objects if handed is not None else []
        )

    def install_findings(self) -> list[Finding]:
        """Preflight's findings of the install (read-only; ``KubeStoreError`` when the
        target cannot be read)."""
        if self.target_end.kind != "kube":
            return []
        found: list[Finding] = []
        handed = self._handover()
        if handed is not None:
            found += handed.findings
        elif self.source_end.kind == "sqlite":
            found.append(
                (
                    "note",
                    "no topology file (-f FILE): no Topology object is made in the target "
                    "(send it after the move: strata topology apply)",
                )
            )
        target = self._open_target()
        assert isinstance(target, KubeStore)
        found += install.object_findings(target.api, self._wanted())
        if handed is not None:
            found += _external(target.api, handed, self.options.install.credentials)
        return found + self._reach_findings(target.api, handed)

    def _reach_findings(self, api: KubeApi, handed: Handover | None) -> list[Finding]:
        """Whether the target can run the controller, and whether the one the move
        starts serves boots where the provisioning network reaches it
        (``strata.pivot.reach``), that network read from FILE's Topology, else the
        source cluster's Topology object."""
        spec = (
            next((o["spec"] for o in handed.objects if o["kind"] == "Topology"), None)
            if handed
            else None
        )
        if spec is None and isinstance(self.source, KubeStore):
            end = self.source_end
            spec = (
                install.topology_object(self.source.api, end.namespace, end.topology) or {}
            ).get("spec")
        mode, end = self.options.controller, self.target_end
        return controller_findings(
            api, end.namespace, mode, self.options.host_args, provisioning(spec)
        )

    def _install_objects(self, target: KubeStore) -> None:
        """Creates what is absent, recorded first; ``CopyRefused`` for FILE's blocks
        (a rerun past preflight) and ``KubeStoreError`` for a conflict."""
        journal, handed = self.journal, self._handover()
        assert journal is not None
        if handed is not None and (held := [t for lv, t in handed.findings if lv == "block"]):
            raise CopyRefused("; ".join(held))
        wanted = self._wanted()
        absent = install.conflicts(target.api, wanted)
        paths = [object_path(o) for o in absent]
        earlier = list(journal.created.get("objects") or [])
        fresh = [p for p in paths if p not in earlier]  # a rerun: recorded, never made
        journal.created = {**journal.created, "objects": [*earlier, *fresh]}
        self._write()
        failpoints.reached("install:recorded")  # recorded, not made yet
        taken = install.create_absent(target.api, absent[:1])
        failpoints.reached("install:one-made")
        taken += install.create_absent(target.api, absent[1:])
        if taken:
            mine = [p for p in journal.created["objects"] if p not in taken]
            journal.created = {**journal.created, "objects": mine}
            self._write()
        made = sorted({o["kind"] for o in absent if object_path(o) not in taken})
        made_paths = [object_path(o) for o in absent if object_path(o) not in taken]
        if any(map(tracked, made_paths)):  # a later edit there is told from what was made
            recorded = {**journal.created.get("versions", {}), **versions(target.api, made_paths)}
            journal.created = {**journal.created, "versions": recorded}
            self._write()
        absent_paths = {object_path(o) for o in absent}
        there = [object_path(o) for o in wanted if object_path(o) not in absent_paths]
        ours = sum(p in earlier for p in there)  # made by this move's earlier run
        earlier_run = f", {ours} made by this move's earlier run" if ours else ""
        self.say(
            f"install: {len(absent) - len(taken)} objects created ({', '.join(made) or 'none'})"
            f"{earlier_run}, {len(there) - ours + len(taken)} found there and kept; the "
            "controller's Deployment paused"
        )

    def _install_differences(self, target: KubeStore) -> list[str]:
        """What verify finds different between FILE's objects and the target's."""
        handed = self._handover()
        if handed is None:
            return []
        if not any(o["kind"] == "Topology" for o in handed.objects):  # FILE unusable now
            return [t for level, t in handed.findings if level == "block"]
        found = []  # what this run would make (a rerun's consent may differ): compared
        for obj in handed.objects:
            there = target.api.get(object_path(obj))
            if there is None or install.differs(obj, there) is not None:
                found.append(f"{obj['kind']} {obj['metadata']['name']} differs from FILE's")
        return found


def _external(api: KubeApi, handed: Handover, consent: str) -> list[Finding]:
    """The Secrets FILE already refers to: the target's controller reads them there."""
    found: list[Finding] = []
    for namespace, name, key in handed.external:
        data = (api.get(f"/api/v1/namespaces/{namespace}/secrets/{name}") or {}).get("data")
        if key in (data or {}):
            found.append(("ok", f"Secret {namespace}/{name} (key {key}) is in the target"))
            continue
        level = "note" if consent == "leave" else "block"
        text = f"Secret {namespace}/{name} (key {key}) FILE refers to is not in the target"
        found.append((level, f"{text}: the target's controller cannot reach the BMCs using it"))
    return found
