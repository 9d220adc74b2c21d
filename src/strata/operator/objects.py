"""A topology document as a Topology object, and back; sending one to an API server.

The object's ``metadata.name`` is the document's ``metadata.name`` (a DNS label, so a
valid object name), its labels the document's labels; ``spec`` is the rest of the
document as written (no defaults filled in: what a GitOps tool compares with the
file), with ``consent`` beside it when given. :func:`apply_topology` sends it with
server-side apply (Kubernetes API docs, "Server-Side Apply": PATCH
``application/apply-patch+yaml``, field manager ``strata``), so fields other managers
own — a consent written with kubectl — stay as they are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.operator.crds import API_VERSION, DOCUMENT_ONLY, GROUP, VERSION

__all__ = [
    "FIELD_MANAGER",
    "MAX_OBJECT_BYTES",
    "ApplyRefused",
    "apply_topology",
    "check_size",
    "default_kubeconfig",
    "load_kubeconfig",
    "topology_document",
    "topology_object",
]

FIELD_MANAGER = "strata"
Object = dict[str, Any]


class ApplyRefused(StrataError):
    """The API server refused the object, or could not be reached; the message is its."""

    kind = "apply-refused"
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def topology_object(
    document: Mapping[str, Any],
    namespace: str | None = None,
    consent: Mapping[str, Any] | None = None,
) -> Object:
    """The Topology object for ``document`` (a topology.yaml as loaded: a mapping with
    ``metadata.name``). ``consent``: ``{"allowReprovision": [node], "prune": bool}``."""
    meta = document.get("metadata") or {}
    metadata: Object = {"name": meta["name"]}
    if namespace:
        metadata["namespace"] = namespace
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    spec = {k: v for k, v in document.items() if k not in DOCUMENT_ONLY}
    if consent:
        spec["consent"] = dict(consent)
    return {"apiVersion": API_VERSION, "kind": "Topology", "metadata": metadata, "spec": spec}


def topology_document(obj: Mapping[str, Any]) -> Object:
    """The topology document a Topology object holds (``spec`` minus ``consent``)."""
    meta = obj.get("metadata") or {}
    metadata: Object = {"name": meta.get("name")}
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    spec = {k: v for k, v in (obj.get("spec") or {}).items() if k != "consent"}
    return {"apiVersion": API_VERSION, "kind": "Topology", "metadata": metadata, **spec}


MAX_OBJECT_BYTES = 1024 * 1024
"""The largest Topology object sent, in bytes of JSON. etcd refuses a request over
1.5 MiB by default (etcd.io/docs/v3.5/dev-guide/limit/, "Request size limit"), and the
stored object carries its managedFields (server-side apply: a set of every field path)
besides the spec; client-side ``kubectl apply`` also copies the object into a
last-applied annotation, capped at 256 KiB (``TotalAnnotationSizeLimitB``)."""
SIZE_HINT = (
    "write repeated servers with generators (generate: {count: N} and {index} patterns) and "
    "leave out what defaults blocks give; or split the datacenter into several Topology "
    "objects (one per region or layer)"
)


def check_size(obj: Object) -> int:
    """The object's size in bytes of compact JSON; raises ApplyRefused past
    ``MAX_OBJECT_BYTES``, with how to make it smaller."""
    size = len(json.dumps(obj, separators=(",", ":")).encode())
    if size > MAX_OBJECT_BYTES:
        raise ApplyRefused(
            f"Topology {obj['metadata']['name']} is {size:,} bytes as JSON, over the "
            f"{MAX_OBJECT_BYTES:,} a Topology object may hold (etcd stores at most 1.5 MiB "
            "with its managed fields)",
            SIZE_HINT,
        )
    return size


def default_kubeconfig() -> Path:
    """The kubeconfig kubectl uses: the first file of ``$KUBECONFIG`` that exists (the
    variable lists several, kubectl merges them), else ``~/.kube/config``."""
    for name in (os.environ.get("KUBECONFIG") or "").split(os.pathsep):
        if name and Path(name).expanduser().is_file():
            return Path(name).expanduser()
    return Path("~/.kube/config").expanduser()


def apply_topology(
    obj: Object, kubeconfig: Path, dry_run: bool = False, force: bool = False
) -> Object:
    """Server-side applies ``obj`` (a Topology) with the credentials of ``kubeconfig``
    (its current context; the object's namespace, else the context's, else
    ``default``); returns the object as the API server stored it (with ``dryRun=All``:
    as it would). ``force``: take over fields another field manager owns (else their
    conflict is refused). Raises ApplyRefused with the API server's message (a refused field is
    named by its path there) or the reason it was not reached; nothing is sent over
    ``MAX_OBJECT_BYTES``."""
    import httpx2  # lightkube's HTTP client
    from lightkube import ApiError, Client
    from lightkube.core.exceptions import ConfigError

    check_size(obj)
    client = Client(
        load_kubeconfig(kubeconfig),
        field_manager=FIELD_MANAGER,
        trust_env=False,
        timeout=httpx2.Timeout(30.0),
    )
    namespace = obj["metadata"].get("namespace") or client.namespace
    sent = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    try:
        applied = client.apply(_resource()(sent), force=force, dry_run=dry_run)
    except ApiError as err:
        raise ApplyRefused(
            f"the API server refused Topology {namespace}/{obj['metadata']['name']}: "
            f"{err.status.message}",
            _hint(err.status, namespace),
        ) from None
    except ConfigError as err:
        raise ApplyRefused(f"{kubeconfig}: cannot use this kubeconfig: {err}") from None
    except httpx2.HTTPError as err:
        raise ApplyRefused(f"the API server named in {kubeconfig} was not reached: {err}") from None
    except OSError as err:  # an exec credential plugin that is missing or failed
        raise ApplyRefused(
            f"{kubeconfig}: its user's credential plugin could not run: "
            + (f"{err.filename}: {err.strerror}" if err.filename else str(err)),
            "install the plugin its users[].user.exec.command names, or use another context",
        ) from None
    return dict(applied.to_dict())


def load_kubeconfig(kubeconfig: Path) -> Any:
    """lightkube's ``KubeConfig`` for the file (``strata.kube.kubeconfig_load``);
    ``ApplyRefused`` naming what is wrong instead of a traceback."""
    from strata.kube.kubeconfig_load import KubeconfigRefused
    from strata.kube.kubeconfig_load import load_kubeconfig as load

    try:
        return load(kubeconfig)
    except KubeconfigRefused as refused:
        raise ApplyRefused(str(refused), refused.hint) from None


def _resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, VERSION, "Topology", "topologies")


def _hint(status: Any, namespace: str) -> str | None:
    """What to do about a refusal; a 404 is a missing namespace or a missing CRD."""
    code = status.code
    details = status.details
    if code == 404 and details is not None and details.kind == "namespaces":
        return (
            f"namespace {namespace} does not exist: pass -n with the controller's namespace "
            f"(strata-system with deploy/), or create it: kubectl create namespace {namespace}"
        )
    hints: Sequence[tuple[int, str]] = (
        (404, "install the CRDs first: kubectl apply -k deploy/ (or deploy/crds/)"),
        (403, "this kubeconfig's user may not write topologies.strata.dev in this namespace"),
        (401, "this kubeconfig's credentials were not accepted"),
        (409, "another field manager set these fields: --force-conflicts takes them over"),
    )
    return next((text for known, text in hints if known == code), None)
