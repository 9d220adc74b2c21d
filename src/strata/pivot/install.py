"""The install step on a Kubernetes target: the namespace and Strata's CRDs
(``strata.operator.crds.all_crds``: Topology and Server), created when absent and
awaited until Established; then what the target's controller needs
(``strata.operator.manifests``: ServiceAccount, Role, RoleBinding, ConfigMap and its
Deployment, started paused: replicas 0, the replicas to come in the annotation
``strata.dev/replicas``), and, from a state file, the BMC credentials' Secrets and the
Topology object made from FILE (``strata.pivot.from_file``). What was created is
recorded in the journal, so a rollback removes it and nothing it found there; an
object found there and equal is kept (and not recorded), a different one is refused
(``conflicts``, said in preflight). From a cluster, the Topology object (its spec,
labels and status) is copied with the state (``copy_topology``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from strata.operator.crds import API_VERSION, VERSION, all_crds
from strata.operator.manifests import NAME, controller_objects, object_path, paused
from strata.pivot import failpoints, leftover
from strata.pivot.deleting import delete_read
from strata.store.kube_api import KubeApi, KubeStoreError, Obj

__all__ = [
    "CRDS",
    "conflicts",
    "controller_wanted",
    "copy_topology",
    "crd_findings",
    "create_absent",
    "ensure",
    "object_findings",
    "read_crds",
    "remove",
    "remove_token_key",
    "topology_object",
]

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISHED_WITHIN = 60.0  # seconds: a hang guard
TERMINATED_WITHIN = 300.0  # seconds: a namespace's finalisation (its objects deleted first)


def read_crds(api: KubeApi) -> dict[str, Obj | None]:
    """Strata's CRDs as the cluster has them: name -> the object (None: not installed),
    one GET each — read once by preflight and shared by what it checks of them
    (``crd_findings``, ``strata.pivot.versions.version_findings``)."""
    return {
        crd["metadata"]["name"]: api.get(f"{CRDS}/{crd['metadata']['name']}") for crd in all_crds()
    }


def crd_findings(crds: dict[str, Obj | None]) -> list[tuple[str, str]]:
    """(level, text) for each CRD of ``read_crds``: absent (it will be installed), or
    installed and serving this Strata's version, or not (refused: another Strata's)."""
    found = []
    for name, there in crds.items():
        if there is None:
            found.append(("note", f"CRD {name} is not installed: it will be"))
            continue
        served = [v["name"] for v in there["spec"]["versions"] if v.get("served")]
        storage = [v["name"] for v in there["spec"]["versions"] if v.get("storage")]
        if VERSION not in served or storage != [VERSION]:
            text = f"CRD {name} serves {served} (storage {storage}), not this Strata's {VERSION}"
            found.append(("block", text + ": a CRD version mismatch"))
        else:
            found.append(("ok", f"CRD {name} is installed and serves {VERSION}"))
    return found


def ensure(api: KubeApi, namespace: str) -> dict[str, Any]:
    """Creates the namespace and the CRDs that are absent; ``{"namespace": bool, "crds":
    [names created]}``. ``KubeStoreError`` when the API refuses."""
    created: dict[str, Any] = {"namespace": False, "crds": []}
    _gone_if_terminating(api, namespace)
    if api.get(f"/api/v1/namespaces/{namespace}") is None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        created["namespace"] = api.create("/api/v1/namespaces", body) is not None
    for crd in all_crds():
        name = crd["metadata"]["name"]
        if api.get(f"{CRDS}/{name}") is None and api.create(CRDS, crd) is not None:
            created["crds"].append(name)
    for crd in all_crds():
        _established(api, crd["metadata"]["name"])
    return created


def _gone_if_terminating(api: KubeApi, namespace: str) -> None:
    """A namespace being deleted (a rolled-back move's) takes no new objects (403): wait
    until the cluster has finalised it."""
    deadline = time.monotonic() + TERMINATED_WITHIN
    while time.monotonic() < deadline:
        found = api.get(f"/api/v1/namespaces/{namespace}")
        if found is None or (found.get("status") or {}).get("phase") != "Terminating":
            return
        time.sleep(0.5)
    raise KubeStoreError(
        "GET", f"/api/v1/namespaces/{namespace}", 0, "still Terminating after 300 s"
    )


def _established(api: KubeApi, name: str) -> None:
    deadline = time.monotonic() + ESTABLISHED_WITHIN
    while time.monotonic() < deadline:
        conditions = ((api.get(f"{CRDS}/{name}") or {}).get("status") or {}).get("conditions")
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions or []):
            return
        time.sleep(0.2)
    raise KubeStoreError("GET", f"{CRDS}/{name}", 0, "not Established within 60 s")


def remove(api: KubeApi, namespace: str, created: dict[str, Any], topology: str) -> list[str]:
    """Deletes what ``ensure``, ``create_absent`` and ``copy_topology`` created (a
    namespace is then finalised by the cluster) — except a CRD with objects the move did
    not make (another topology's, in any namespace: deleting the CRD would delete them),
    and a namespace holding anything the move did not make (``strata.pivot.leftover``:
    deleting it would delete that): then only the move's own objects in it are deleted.
    Returns what was kept and why, a sentence each."""
    kept: list[str] = []
    inside = (
        leftover.contents(api, namespace, topology, created) if created.get("namespace") else None
    )
    paths = [_topology_path(namespace, topology)] if created.get("topology") else []
    paths += [
        f"/api/v1/namespaces/{where}/secrets/{name}"
        for where, name in (s.split("/", 1) for s in created.get("secrets") or [])
    ]
    paths += list(reversed(created.get("objects") or []))
    for path in paths:  # each at the resourceVersion read: one changed since is kept
        kept += filter(None, [delete_read(api, path)])
    for name in created.get("crds") or []:
        plural, group = name.split(".", 1)
        if next(iter(api.items(f"/apis/{group}/{VERSION}/{plural}", page=1)), None) is not None:
            kept.append(f"CRD {name} kept: in use by objects the move did not make")
            continue
        kept += filter(None, [delete_read(api, f"{CRDS}/{name}")])
    if inside is not None and inside.only_the_moves():
        kept += filter(None, [delete_read(api, f"/api/v1/namespaces/{namespace}")])
    elif inside is not None:
        for path in inside.mine:  # what the store wrote (its notes, Lease ...), owned ones
            kept += filter(None, [delete_read(api, path)])
        kept.append(
            f"namespace {namespace} kept: it holds what the move did not make "
            f"({inside.said()}), which deleting it would delete; the move's own objects in "
            "it were deleted"
        )
    return kept


def refused_why(api: KubeApi, namespace: str, failure: KubeStoreError) -> str | None:
    """Why the API server refused a request in ``namespace`` (403, 404) when the namespace
    itself is the cause — deleted by someone meanwhile: a namespace being terminated
    takes no new object (its admission answers 403 "unable to create new content in
    namespace … because it is being terminated"; Kubernetes "Namespaces"), a deleted one
    none at all. ``namespace … is being terminated`` / ``… does not exist``; None for
    another cause, or when the namespace cannot be read."""
    if failure.status not in (403, 404) or f"/namespaces/{namespace}/" not in str(failure):
        return None
    try:
        found = api.get(f"/api/v1/namespaces/{namespace}")
    except KubeStoreError:
        return None
    if found is None:
        return f"namespace {namespace} does not exist: it was deleted during the move"
    metadata, status = found.get("metadata") or {}, found.get("status") or {}
    if metadata.get("deletionTimestamp") or status.get("phase") == "Terminating":
        return f"namespace {namespace} is being terminated: it was deleted during the move"
    return None


def controller_wanted(namespace: str) -> list[Obj]:
    """What the target's controller needs in ``namespace``, its Deployment paused."""
    objects = controller_objects(namespace)
    return [paused(o) if o["kind"] == "Deployment" else o for o in objects]


def differs(want: Obj, have: Obj) -> str | None:
    """Where ``have`` (as the API server returns it) differs from ``want``: None when
    equal. What the API server adds (defaults, status) and metadata are no difference;
    nor a Deployment's replicas (scaled since). A Topology's spec (but its consent) is
    compared whole."""
    if want["kind"] == "Topology":
        mine, kept = (
            {k: v for k, v in (o.get("spec") or {}).items() if k != "consent"} for o in (want, have)
        )
        return None if mine == kept else ".spec"
    for key, value in want.items():
        if key in ("apiVersion", "kind", "metadata", "status"):
            continue
        theirs = have.get(key)
        if want["kind"] == "Deployment" and key == "spec":
            value = {k: v for k, v in value.items() if k != "replicas"}
            theirs = _unhashed(theirs)
        found = _subset(value, theirs, f".{key}")
        if found is not None:
            return found
    return None


_HASHED = re.compile(rf"^{NAME}-[a-z0-9]{{10}}$")  # kustomize's configMapGenerator's name


def _unhashed(spec: Any) -> Any:
    """A Deployment's spec with the ConfigMap kustomize generated (``kubectl apply -k
    deploy/``: ``strata-controller-<hash>``) read as ``strata-controller``: the same."""
    spec = json.loads(json.dumps(spec))
    template = (spec or {}).get("template") or {}
    for container in (template.get("spec") or {}).get("containers") or []:
        for source in container.get("envFrom") or []:
            ref = source.get("configMapRef") or {}
            if _HASHED.match(str(ref.get("name", ""))):
                ref["name"] = NAME
    return spec


def _subset(want: Any, have: Any, path: str) -> str | None:
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return path
        for key, value in want.items():
            found = _subset(value, have.get(key), f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return path
        for i, (mine, theirs) in enumerate(zip(want, have, strict=True)):
            found = _subset(mine, theirs, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if want == have else path


def _named(obj: Obj) -> str:
    metadata = obj["metadata"]
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj['kind']} {where}{metadata['name']}"


def _conflict(obj: Obj, path: str) -> str:
    return (
        f"{_named(obj)} is there and differs from what this move makes (at {path}): "
        "a conflict, not written over (remove it, or move into another namespace)"
    )


def object_findings(api: KubeApi, objects: list[Obj]) -> list[tuple[str, str]]:
    """(level, text) for each object: absent (it will be created), there and equal
    (kept), there and different (a block: a conflict). Secrets' values never shown."""
    found = []
    for obj in objects:
        there = api.get(object_path(obj))
        if there is None:
            paused_note = " (paused: replicas 0)" if obj["kind"] == "Deployment" else ""
            found.append(("note", f"{_named(obj)} is not there: it will be created{paused_note}"))
        elif (where := differs(obj, there)) is not None:
            found.append(("block", _conflict(obj, where)))
        else:
            found.append(("ok", f"{_named(obj)} is there as this move would make it: kept"))
    return found


def conflicts(api: KubeApi, objects: list[Obj]) -> list[Obj]:
    """The objects absent from the target; ``KubeStoreError`` (409) naming the first
    one there and different."""
    absent = []
    for obj in objects:
        there = api.get(object_path(obj))
        if there is None:
            absent.append(obj)
        elif (where := differs(obj, there)) is not None:
            raise KubeStoreError("GET", object_path(obj), 409, _conflict(obj, where))
    return absent


def create_absent(api: KubeApi, absent: list[Obj]) -> list[str]:
    """Creates each object (``conflicts``' answer, already recorded as the move's);
    returns the paths of those another made meanwhile, equal (not the move's: to be
    unrecorded). ``KubeStoreError`` for one made meanwhile and different."""
    taken = []
    for obj in absent:
        if api.create(object_path(obj, collection=True), obj) is not None:
            continue
        there = api.get(object_path(obj)) or {}
        if (where := differs(obj, there)) is not None:
            raise KubeStoreError("POST", object_path(obj), 409, _conflict(obj, where))
        taken.append(object_path(obj))
    return taken


def remove_token_key(api: KubeApi, namespace: str, topology: str) -> str | None:
    """Deletes the boot service's token-signing key the copy wrote (the Secret
    ``<topology>-boot-token-key``, ``strata.store.kube_secrets``) at the
    resourceVersion read; absent: nothing. A line when it was kept (``delete_read``)."""
    return delete_read(api, f"/api/v1/namespaces/{namespace}/secrets/{topology}-boot-token-key")


def _topology_path(namespace: str, name: str) -> str:
    return f"/apis/{API_VERSION}/namespaces/{namespace}/topologies/{name}"


def topology_object(api: KubeApi, namespace: str, name: str) -> Obj | None:
    """The Topology object ``name`` (desired state, consent, status); None: absent."""
    return api.get(_topology_path(namespace, name))


def copy_topology(
    source: KubeApi,
    target: KubeApi,
    namespaces: tuple[str, str],
    name: str,
    confirm: Callable[[], None] = lambda: None,
) -> bool:
    """The source's Topology object made in the target with its spec, labels and status
    (the target's controller goes on from it); True when this call created it. An
    object already there with the same spec is kept (a rerun); another spec is
    refused (``KubeStoreError`` 409: someone applied a different topology there).
    Fenced (``strata.pivot.fencing``): the target's object is read, ``confirm()``
    raises when the move is no longer this run's, then it is created where absent
    (409: someone made it since) and its status written at the resourceVersion read."""
    found = topology_object(source, namespaces[0], name)
    if found is None:
        return False
    there = topology_object(target, namespaces[1], name)
    failpoints.reached("copy:topology:read")
    confirm()
    made = there is None
    if there is None:
        metadata = {"name": name, "labels": (found.get("metadata") or {}).get("labels") or {}}
        body = {
            "apiVersion": API_VERSION,
            "kind": "Topology",
            "metadata": metadata,
            "spec": found.get("spec") or {},
        }
        there = target.create(f"/apis/{API_VERSION}/namespaces/{namespaces[1]}/topologies", body)
        made = there is not None
        if there is None:
            confirm()  # made by another run that took the move over: this one stops
            there = topology_object(target, namespaces[1], name)
    path = _topology_path(namespaces[1], name)
    if there is None or there.get("spec") != found.get("spec"):
        raise KubeStoreError("PUT", path, 409, "a Topology of another spec is there")
    wanted = found.get("status")
    if wanted and there.get("status") != wanted:
        written = target.replace(path + "/status", {**there, "status": wanted})
        if written is None:
            confirm()
            raise KubeStoreError("PUT", path + "/status", 409, "changed while it was copied")
    return made
