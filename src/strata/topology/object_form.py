"""A file holding the Topology OBJECT (what a GitOps repository commits for the
in-cluster controller) read as the topology document it carries.

The object: ``apiVersion: strata.dev/v1alpha1``, ``kind: Topology``, ``metadata``
(``name``, ``namespace``, ``labels``, ``annotations``: Kubernetes ObjectMeta),
``spec`` = the document's keys plus ``consent`` (``{allowReprovision: [node], prune:
bool}``, not part of the document). The document is ``apiVersion``, ``kind``,
``metadata`` {name, labels} and ``spec`` minus ``consent``; findings about it are
located in the object (``spec.networks[0].cidr``) through :func:`object_path`.
A ``status`` (as ``kubectl get -o yaml`` writes it) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from strata.topology.diagnostics import Diagnostics, Path, did_you_mean
from strata.topology.fields import DNS_LABEL
from strata.topology.model import Topology

__all__ = ["check_consent", "document_of_object", "is_object", "object_path"]

_HEAD = ("apiVersion", "kind", "metadata")
_OBJECT_KEYS = (*_HEAD, "spec", "status")
_METADATA = ("name", "namespace", "labels", "annotations")
_CONSENT = {"allowReprovision": "a list of node names", "prune": "true or false"}


def is_object(data: Any) -> bool:
    """Whether ``data`` (a parsed file) is a Topology object rather than a document."""
    return isinstance(data, dict) and data.get("kind") == "Topology" and "spec" in data


def object_path(path: Path) -> Path:
    """A document path as a path in the object (``("spec", *path)`` below the head)."""
    if not path or path[0] in _OBJECT_KEYS:
        return path
    return ("spec", *path)


def document_of_object(data: Mapping[str, Any], diags: Diagnostics) -> dict[str, Any]:
    """The document the object carries; what only the object has (namespace,
    annotations, keys beside spec) is checked here, findings at object paths."""
    for key in data:
        if key not in _OBJECT_KEYS:
            diags.error(
                (key,), f"unknown key '{key}'", did_you_mean(str(key), _OBJECT_KEYS), key=True
            )
    meta = data.get("metadata")
    metadata: Any = meta
    if isinstance(meta, dict):
        _metadata(meta, diags)
        metadata = {k: meta[k] for k in ("name", "labels") if k in meta}
    spec = data.get("spec")
    if not isinstance(spec, dict):
        diags.error(("spec",), "must be a mapping: the topology document's keys")
        spec = {}
    for key in _HEAD:
        if key in spec:
            diags.error(
                ("spec", key),
                f"unknown key '{key}'",
                f"{key} belongs at the top of the object",
                key=True,
            )
    _consent_shape(spec.get("consent"), diags)
    body = {k: v for k, v in spec.items() if k not in (*_HEAD, "consent")}
    return {
        "apiVersion": data.get("apiVersion"),
        "kind": data["kind"],
        "metadata": metadata,
        **body,
    }


def _metadata(meta: Mapping[str, Any], diags: Diagnostics) -> None:
    for key in meta:
        if key not in _METADATA:
            hint = did_you_mean(
                str(key), _METADATA
            ) or "a committed object holds only " + ", ".join(_METADATA)
            diags.error(("metadata", key), f"unknown key '{key}'", hint, key=True)
    namespace = meta.get("namespace")
    if namespace is not None and not (
        isinstance(namespace, str) and re.match(DNS_LABEL, namespace)
    ):
        diags.error(("metadata", "namespace"), "must be a namespace name: a DNS label")
    annotations = meta.get("annotations")
    if annotations is None:
        return
    if not isinstance(annotations, dict):
        diags.error(("metadata", "annotations"), "must be a mapping of strings")
        return
    for key, value in annotations.items():
        if not isinstance(value, str):
            diags.error(("metadata", "annotations", key), "must be a string (quote it)")


def _consent_shape(consent: Any, diags: Diagnostics) -> None:
    if consent is None:
        return
    if not isinstance(consent, dict):
        diags.error(
            ("spec", "consent"), "must be a mapping: {allowReprovision: [node], prune: bool}"
        )
        return
    for key in consent:
        if key not in _CONSENT:
            diags.error(
                ("spec", "consent", key),
                f"unknown key '{key}'",
                did_you_mean(str(key), _CONSENT),
                key=True,
            )
    prune = consent.get("prune")
    if prune is not None and not isinstance(prune, bool):
        diags.error(("spec", "consent", "prune"), "must be true or false")
    nodes = consent.get("allowReprovision")
    if nodes is not None and not (
        isinstance(nodes, list) and all(isinstance(n, str) for n in nodes)
    ):
        diags.error(("spec", "consent", "allowReprovision"), "must be a list of node names")


def check_consent(data: Mapping[str, Any], topology: Topology, diags: Diagnostics) -> None:
    """``spec.consent.allowReprovision``: each a node of the topology, named once."""
    consent = (data.get("spec") or {}).get("consent")
    nodes = consent.get("allowReprovision") if isinstance(consent, dict) else None
    if not isinstance(nodes, list):
        return
    known = {n.name for n in topology.nodes}
    seen: set[str] = set()
    for i, name in enumerate(nodes):
        path: Path = ("spec", "consent", "allowReprovision", i)
        if not isinstance(name, str):
            continue
        if name not in known:
            diags.error(path, f"no node named '{name}' in this topology", did_you_mean(name, known))
        elif name in seen:
            diags.warning(path, f"'{name}' is listed twice")
        seen.add(name)
