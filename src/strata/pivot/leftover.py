"""What a namespace a move made holds by the time the move is rolled back: the move's
own objects, what the cluster makes in every namespace, and anything else — what
another party put there meanwhile, with or without Strata's labels. A rollback deletes
the namespace only when there is nothing else: deleting a namespace deletes every
object in it (Kubernetes "Namespaces": the namespace controller deletes its contents
before the namespace is finalised), so otherwise only the move's own objects are
deleted and the namespace is kept (docs/pivot.md, "Failures and how to recover").

Every namespaced resource the API server lists is read (its discovery documents,
``/api/v1`` and each group's preferred version: Kubernetes API "Discovery"), not a
list of kinds Strata knows: an object of a kind Strata never makes is what this is for.

The move's own: an API path the journal's ``created`` records (the controller's
objects, the Topology object, the Secrets the move copied), what the store writes
there — known by its kind and name as ``strata.store.kube_*`` make them, with the
label ``strata.dev/topology=<topology>`` (the Servers ``<topology>.<node>``, the
ConfigMaps ``<topology>-log-NNNNNNNN``, ``-cursors``, ``-unknown-machines``,
``-notes``, the Lease ``<topology>-writer``, the Secrets ``<topology>-boot-token-key``
and ``<topology>-cluster-<layer>``) — and what those own (``metadata.ownerReferences``:
a Deployment's ReplicaSets). The label alone makes nothing the move's: another
party's object labelled for the topology (an agent watching it) is another party's. The cluster's own, in every namespace: the ServiceAccount ``default``,
the ConfigMap ``kube-root-ca.crt`` and the token Secrets of ``default`` and of the
ServiceAccounts the move made (their ``kubernetes.io/service-account.name``
annotation). Events are records of what happened, not objects anyone keeps: left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from strata.store.kube_api import KubeApi, KubeStoreError, Obj

__all__ = ["Contents", "contents"]

LABEL = "strata.dev/topology"
GROUP = "strata.dev"
STORE_CONFIGMAPS = ("cursors", "unknown-machines", "notes")
TOKEN_OF = "kubernetes.io/service-account.name"  # a service-account token Secret's
CLUSTER_MADE = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
SHOWN = 8  # objects named in a report; the rest counted


@dataclass
class Contents:
    """``mine``: API paths of the move's own objects there; ``others``: what the move
    did not make (``Kind name``); ``unread``: resources that could not be listed (what
    they hold is unknown, so the namespace is kept)."""

    mine: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    def only_the_moves(self) -> bool:
        return not self.others and not self.unread

    def said(self) -> str:
        """What keeps the namespace, as the rollback's report says it."""
        shown = ", ".join(self.others[:SHOWN])
        if len(self.others) > SHOWN:
            shown += f" and {len(self.others) - SHOWN} more"
        if self.unread:
            shown += ("; " if shown else "") + f"{', '.join(self.unread)} could not be listed"
        return shown


def contents(api: KubeApi, namespace: str, topology: str, created: dict[str, Any]) -> Contents:
    """Everything in ``namespace`` (module doc), sorted into the move's (``created``:
    the journal's record of what the move made), the cluster's own and the rest.
    ``KubeStoreError`` when discovery itself cannot be read."""
    found, seen = Contents(), set()
    objects: list[tuple[str, Obj]] = []
    resources, found.unread = _resources(api)
    for prefix, plural, kind in resources:
        collection = f"{prefix}/namespaces/{namespace}/{plural}"
        try:
            listed = list(api.items(collection))
        except KubeStoreError:
            found.unread.append(plural)
            continue
        for obj in listed:
            metadata = obj.get("metadata") or {}
            if metadata.get("uid") in seen:  # the same object served by two groups
                continue
            seen.add(metadata.get("uid"))
            objects.append((f"{collection}/{metadata.get('name')}", {**obj, "kind": kind}))
    recorded = _recorded(namespace, topology, created)
    accounts = {p.rsplit("/", 1)[1] for p in recorded if "/serviceaccounts/" in p} | {"default"}
    mine = {path for path, obj in objects if _store_made(path, obj, topology) or path in recorded}
    cluster = {path for path, obj in objects if _cluster_made(obj, accounts)}
    _owned(objects, mine)
    for path, obj in objects:
        if path in mine:
            found.mine.append(path)
        elif path not in cluster:
            found.others.append(f"{obj['kind']} {obj['metadata'].get('name')}")
    found.others.sort()
    return found


def _resources(api: KubeApi) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(path prefix, plural, kind) of every namespaced resource that can be listed,
    events aside: ``/api/v1`` and each API group's preferred version; and the groups
    whose resources could not be read (an aggregated API that is down)."""
    prefixes = ["/api/v1"]
    for group in (api.get("/apis") or {}).get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if preferred:
            prefixes.append(f"/apis/{preferred}")
    found, unread = [], []
    for prefix in prefixes:
        try:
            listed = api.get(prefix) or {}
        except KubeStoreError:  # an aggregated API that is down: its kinds unknown
            unread.append(f"the resources of {prefix.removeprefix('/apis/')}")
            continue
        for resource in listed.get("resources") or []:
            name = str(resource.get("name", ""))
            if "/" in name or name == "events" or not resource.get("namespaced"):
                continue
            if "list" in (resource.get("verbs") or []):
                found.append((prefix, name, str(resource.get("kind", name))))
    return found, unread


def _recorded(namespace: str, topology: str, created: dict[str, Any]) -> set[str]:
    paths = set(created.get("objects") or [])
    for secret in created.get("secrets") or []:
        where, name = secret.split("/", 1)
        paths.add(f"/api/v1/namespaces/{where}/secrets/{name}")
    if created.get("topology"):
        paths.add(f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies/{topology}")
    return paths


def _store_made(path: str, obj: Obj, topology: str) -> bool:
    """Whether ``obj`` at ``path`` is one the store writes (module doc): its kind, its
    name, and the topology's label."""
    metadata = obj.get("metadata") or {}
    if (metadata.get("labels") or {}).get(LABEL) != topology:
        return False
    name, resource = str(metadata.get("name")), path.rsplit("/", 2)[-2]
    if path.startswith("/api/v1/"):
        if resource == "configmaps":
            return name in {f"{topology}-{n}" for n in STORE_CONFIGMAPS} or bool(
                re.fullmatch(rf"{re.escape(topology)}-log-\d{{8}}", name)
            )
        if resource == "secrets":
            return name == f"{topology}-boot-token-key" or name.startswith(f"{topology}-cluster-")
        return False
    if path.startswith("/apis/coordination.k8s.io/") and resource == "leases":
        return name == f"{topology}-writer"
    return (
        path.startswith(f"/apis/{GROUP}/")
        and resource == "servers"
        and name.startswith(f"{topology}.")
    )


def _cluster_made(obj: Obj, accounts: set[str]) -> bool:
    metadata = obj.get("metadata") or {}
    if (obj["kind"], metadata.get("name")) in CLUSTER_MADE:
        return True
    token_of = (metadata.get("annotations") or {}).get(TOKEN_OF)
    return obj["kind"] == "Secret" and token_of in accounts


def _owned(objects: list[tuple[str, Obj]], mine: set[str]) -> None:
    """Adds to ``mine`` what only the move's objects own, through every generation."""
    uids = {o["metadata"].get("uid") for p, o in objects if p in mine}
    grown = True
    while grown:
        grown = False
        for path, obj in objects:
            owners = (obj.get("metadata") or {}).get("ownerReferences") or []
            if path not in mine and owners and all(r.get("uid") in uids for r in owners):
                mine.add(path)
                uids.add(obj["metadata"].get("uid"))
                grown = True
