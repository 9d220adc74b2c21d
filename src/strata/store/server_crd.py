"""The ``Server`` custom resource definition (``strata.dev/v1alpha1``): one object per
node of a topology, named ``<topology>.<node>``, written by the Kubernetes store
(``strata.store.kube_store``).

``spec`` is the node's NodePlan as the store keeps it (any JSON object); ``status`` is
the store's record of the node and its provisioning attempt. The schema is structural
(apiextensions.k8s.io/v1, "Specifying a structural schema"): every status field is
declared, because an API server before 1.25 prunes undeclared fields silently.
Printer columns follow "Additional printer columns" of the same page: ``kubectl get
servers`` shows State, Layer, Rack and Age.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GROUP", "KIND", "PLURAL", "VERSION", "server_crd"]

GROUP, VERSION, KIND, PLURAL = "strata.dev", "v1alpha1", "Server", "servers"

_ANY_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": kind, "nullable": True}


_STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "state": {"type": "string", "description": "the lifecycle state (strata status)"},
        "step": _nullable("string"),
        "reason": _nullable("string"),
        "deadline": {**_nullable("number"), "description": "unix seconds"},
        "marks": {**_ANY_OBJECT, "description": "what an action already did"},
        "version": {
            "type": "integer",
            "description": "the record's version: one more with every record write",
        },
        "updated": {"type": "number", "description": "unix seconds of the last record write"},
        "attempt": {
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "expires": {**_nullable("integer"), "description": "unix seconds; null: none open"},
                "provisioned": {"type": "boolean"},
                "consumed": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "description": "the single-use token stages this attempt used",
                },
            },
        },
        "history": {
            "type": "array",
            "description": "the newest record events (at most 20)",
            "items": {
                "type": "object",
                "properties": {
                    "at": {"type": "number"},
                    "kind": {"type": "string"},
                    "state": {"type": "string"},
                    "detail": _ANY_OBJECT,
                },
            },
        },
    },
}


def _column(name: str, path: str, kind: str = "string") -> dict[str, str]:
    return {"name": name, "type": kind, "jsonPath": path}


def server_crd() -> dict[str, Any]:
    """The CRD manifest, a JSON-ready dict for ``kubectl apply`` or a POST to
    ``/apis/apiextensions.k8s.io/v1/customresourcedefinitions``."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": "server",
                "shortNames": ["srv"],
                "categories": ["strata"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        _column("State", ".status.state"),
                        _column("Layer", ".spec.layer"),
                        _column("Rack", ".spec.rack"),
                        _column("Age", ".metadata.creationTimestamp", "date"),
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "A server of a topology (one node), as Strata keeps it",
                            "properties": {
                                "spec": {
                                    **_ANY_OBJECT,
                                    "description": "the node's NodePlan",
                                },
                                "status": _STATUS,
                            },
                        }
                    },
                }
            ],
        },
    }
