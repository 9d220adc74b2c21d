"""What a move between two clusters carries beyond the state: the Topology object
and the Secrets it refers to (BMC passwords), copied and compared."""

from __future__ import annotations

from strata.operator.crds import API_VERSION
from strata.pivot import credentials, install
from strata.pivot.edits import versions
from strata.pivot.fencing import Fence
from strata.pivot.moving import Moving
from strata.store import KubeStore

__all__ = ["BetweenClusters"]


class BetweenClusters(Moving):
    def _copy_topology(self, source: KubeStore, target: KubeStore) -> None:
        """The Topology object, then the Secrets it refers to (BMC passwords)."""
        journal, ends = self.journal, (self.source_end.namespace, self.target_end.namespace)
        assert journal is not None
        name = self.source_end.topology
        confirm = Fence(self.kept.check).confirm  # the move still this run's (fencing)
        if install.copy_topology(source.api, target.api, ends, name, confirm):
            path = f"/apis/{API_VERSION}/namespaces/{ends[1]}/topologies/{name}"
            journal.created = {**journal.created, "topology": True}
            self._record_versions(target, [path])
        made = credentials.copy_secrets(source.api, target.api, self._refs(), ends)
        if made:
            journal.created = {
                **journal.created,
                "secrets": [*journal.created.get("secrets", []), *made],
            }
            paths = [
                f"/api/v1/namespaces/{s.split('/', 1)[0]}/secrets/{s.split('/', 1)[1]}"
                for s in made
            ]
            self._record_versions(target, paths)

    def _record_versions(self, target: KubeStore, paths: list[str]) -> None:
        """What was made, as made (``strata.pivot.edits``): a later edit is kept."""
        journal = self.journal
        assert journal is not None
        recorded = {**journal.created.get("versions", {}), **versions(target.api, paths)}
        journal.created = {**journal.created, "versions": recorded}
        self._write()

    def _refs(self) -> list[tuple[str, str, str]]:
        if not isinstance(self.source, KubeStore):
            return []
        name, namespace = self.source_end.topology, self.source_end.namespace
        found = install.topology_object(self.source.api, namespace, name) or {}
        return credentials.references(found.get("spec") or {}, namespace)

    def _differences_between(self, source: KubeStore, target: KubeStore) -> list[str]:
        """What verify finds different in the Topology object and its Secrets."""
        found = []
        name = self.source_end.topology
        ends = (self.source_end.namespace, self.target_end.namespace)
        objects = [
            install.topology_object(s.api, ns, name)
            for s, ns in zip((source, target), ends, strict=True)
        ]
        if (objects[0] or {}).get("spec") != (objects[1] or {}).get("spec"):
            found.append(f"the Topology object {name}'s spec differs")
        refs, same = self._refs(), (ends[0], ends[0])
        if credentials.digests(source.api, refs, same) != credentials.digests(
            target.api, refs, ends
        ):
            found.append("the Secrets the Topology refers to differ")
        return found
