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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.operator.crds import API_VERSION, DOCUMENT_ONLY, GROUP, VERSION

__all__ = [
    "FIELD_MANAGER",
    "ApplyRefused",
    "apply_topology",
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


def apply_topology(
    obj: Object, kubeconfig: Path, dry_run: bool = False, force: bool = False
) -> Object:
    """Server-side applies ``obj`` (a Topology) with the credentials of ``kubeconfig``
    (its current context; the object's namespace, else the context's, else
    ``default``); returns the object as the API server stored it (with ``dryRun=All``:
    as it would). ``force``: take over fields another field manager owns (else their
    conflict is refused). Raises ApplyRefused with the API server's message (a refused field is
    named by its path there) or the reason it was not reached."""
    import httpx2  # lightkube's HTTP client
    from lightkube import ApiError, Client, KubeConfig
    from lightkube.core.exceptions import ConfigError

    try:
        config = KubeConfig.from_file(kubeconfig)
        client = Client(config, field_manager=FIELD_MANAGER, trust_env=False)
    except (ConfigError, OSError, KeyError, ValueError) as err:
        raise ApplyRefused(f"{kubeconfig}: cannot use this kubeconfig: {err}") from None
    namespace = obj["metadata"].get("namespace") or client.namespace
    sent = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    try:
        applied = client.apply(_resource()(sent), force=force, dry_run=dry_run)
    except ApiError as err:
        raise ApplyRefused(
            f"the API server refused Topology {namespace}/{obj['metadata']['name']}: "
            f"{err.status.message}",
            _hint(err.status.code),
        ) from None
    except ConfigError as err:
        raise ApplyRefused(f"{kubeconfig}: cannot use this kubeconfig: {err}") from None
    except httpx2.HTTPError as err:
        raise ApplyRefused(f"the API server named in {kubeconfig} was not reached: {err}") from None
    return dict(applied.to_dict())


def _resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, VERSION, "Topology", "topologies")


def _hint(code: int | None) -> str | None:
    hints: Sequence[tuple[int, str]] = (
        (404, "install the CRDs first: kubectl apply -k deploy/ (or deploy/crds/)"),
        (403, "this kubeconfig's user may not write topologies.strata.dev in this namespace"),
        (401, "this kubeconfig's credentials were not accepted"),
        (409, "another field manager set these fields: --force-conflicts takes them over"),
    )
    return next((text for known, text in hints if known == code), None)
