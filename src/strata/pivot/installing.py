"""The install step's part beyond the namespace and CRDs: what the target's controller
needs (``strata.operator.manifests``, its Deployment paused) and, from a state file,
FILE's Topology object and BMC credentials' Secrets (``strata.pivot.from_file``) —
said in preflight (created, kept, or a conflict), created at install, recorded in the
journal's ``created["objects"]`` (their API paths) before they are made, so a
rollback removes exactly those (``install.remove``), and compared by verify."""

from __future__ import annotations

from strata.operator.manifests import dhcp_of, object_path, pinned, pinned_to
from strata.pivot import failpoints, install
from strata.pivot.copying import CopyRefused
from strata.pivot.edits import tracked, versions
from strata.pivot.from_file import Handover, handover
from strata.pivot.moving import Moving
from strata.pivot.nodes import on_network
from strata.pivot.reach import controller_findings, host_flag, provisioning
from strata.store import KubeStore
from strata.store.kube_api import KubeApi, KubeStoreError, Obj
from strata.topology.spec import NetworkSpec

__all__ = ["Installing"]

Finding = tuple[str, str]


class Installing(Moving):
    _handed: Handover | None = None
    _unlisted: str | None = None  # why the target's Nodes could not be listed

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

    def _wanted(self, api: KubeApi) -> list[Obj]:
        handed = self._handover()
        nodes = self._pinned(api)
        dhcp = self._dhcp()
        controller = [
            pinned(o, nodes, dhcp) if nodes and o["kind"] == "Deployment" else o
            for o in install.controller_wanted(self.target_end.namespace)
        ]
        return controller + (handed.objects if handed is not None else [])

    def _dhcp(self) -> str | None:
        """The interface the pinned Deployment serves DHCP on: the journal's once the
        install recorded it (a rerun makes the same Deployment, whatever it is given),
        else ``--dhcp-interface``."""
        journal = self.journal
        if journal is not None and "dhcp" in journal.created:
            return journal.created["dhcp"] or None
        return host_flag(self.options.host_args, "--dhcp-interface")

    def _dhcp_unused(self, wanted: list[Obj]) -> str | None:
        """What to say when ``--dhcp-interface`` is not what ``wanted``'s Deployment
        serves DHCP on (None: it is, or none was given)."""
        given = host_flag(self.options.host_args, "--dhcp-interface")
        used = dhcp_of(_deployment(wanted))
        return None if given is None or given == used else _dhcp_said(given, used)

    def _pinned(self, api: KubeApi) -> list[str] | None:
        """The Nodes the controller's Deployment is pinned to (docs/pivot.md, "Pinned to
        the provisioning network"): those of the target with an ``InternalIP`` in the
        provisioning network. The journal's once the install has recorded them (a rerun
        makes the same Deployment); None (not pinned) when the network is not known,
        the Nodes cannot be listed, or none is on it."""
        journal = self.journal
        if journal is not None and "pinned" in journal.created:
            return list(journal.created["pinned"] or []) or None
        network = self._network()
        if network is None:
            return None
        try:
            nodes = list(api.items("/api/v1/nodes"))
        except KubeStoreError as failure:
            self._unlisted = str(failure)  # said by preflight (_pin_finding)
            return None
        names = sorted(n["metadata"]["name"] for n in nodes if on_network(n, network.cidr))
        return names or None

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
        wanted = self._wanted(target.api)
        found += install.object_findings(target.api, wanted)
        found += [_pin_finding(wanted, self._network() is not None, self._unlisted)]
        if (unused := self._dhcp_unused(wanted)) is not None:
            found.append(("note", unused))
        if handed is not None:
            found += _external(target.api, handed, self.options.install.credentials)
        return found + self._reach_findings(target.api)

    def _network(self) -> NetworkSpec | None:
        """The provisioning network, from FILE's Topology, else the source cluster's
        Topology object (None: neither says)."""
        handed = self._handover()
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
        return provisioning(spec)

    def _reach_findings(self, api: KubeApi) -> list[Finding]:
        """Whether the target can run the controller, and whether the one the move
        starts serves boots where the provisioning network reaches it
        (``strata.pivot.reach``)."""
        mode, end = self.options.controller, self.target_end
        return controller_findings(
            api, end.namespace, mode, self.options.host_args, self._network()
        )

    def _install_objects(self, target: KubeStore) -> None:
        """Creates what is absent, recorded first; ``CopyRefused`` for FILE's blocks
        (a rerun past preflight) and ``KubeStoreError`` for a conflict."""
        journal, handed = self.journal, self._handover()
        assert journal is not None
        if handed is not None and (held := [t for lv, t in handed.findings if lv == "block"]):
            raise CopyRefused("; ".join(held))
        if "pinned" not in journal.created:  # the same Deployment on a rerun
            pinned_now = {"pinned": self._pinned(target.api) or [], "dhcp": self._dhcp()}
            journal.created = {**journal.created, **pinned_now}
            self._write()
        wanted = self._wanted(target.api)
        if (unused := self._dhcp_unused(wanted)) is not None:
            self.say(f"install: {unused}")
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


def _deployment(wanted: list[Obj]) -> Obj:
    return next(o for o in wanted if o["kind"] == "Deployment")


def _dhcp_said(given: str, used: str | None) -> str:
    """Why ``--dhcp-interface`` is not what the cluster's Deployment serves DHCP on."""
    if used is None:
        return (
            f"--dhcp-interface {given}: not in the cluster's Deployment (it is not pinned "
            "to Nodes on the provisioning network); only a host controller uses it"
        )
    return (
        f"--dhcp-interface {given}: the move began with {used}, which its Deployment keeps "
        "(--abort and move again to change it)"
    )


def _pin_finding(wanted: list[Obj], network_known: bool, unlisted: str | None) -> Finding:
    """Where the controller's Deployment will run (docs/pivot.md, "Pinned to the
    provisioning network"): the Nodes it is pinned to, or why it is not — a warning
    when the target's Nodes could not be listed (``unlisted``: why)."""
    deployment = _deployment(wanted)
    nodes = pinned_to(deployment)
    if nodes is not None:
        shown = ", ".join(nodes[:5]) + (f" and {len(nodes) - 5} more" if len(nodes) > 5 else "")
        text = "the controller's Deployment is pinned to the Nodes on the provisioning network"
        dhcp = dhcp_of(deployment)
        serves = (
            f", DHCP on their {dhcp} (--dhcp-interface)"
            if dhcp
            else ", no DHCP (no --dhcp-interface)"
        )
        return ("note", f"{text} ({shown}), on their network (hostNetwork){serves}")
    if unlisted is not None:
        return (
            "warn",
            f"the controller's Deployment is not pinned to any Node: the target's Nodes "
            f"cannot be listed ({unlisted}); it may run where the provisioning network "
            "does not reach: let Strata's credential list nodes, or pin it by hand",
        )
    why = (
        "no Node of the target has an InternalIP in the provisioning network"
        if network_known
        else "the provisioning network is not known here"
    )
    return ("note", f"the controller's Deployment is not pinned to any Node: {why}")
