"""What ``kubeadm init`` writes to a new cluster's API for nodes to join it, done by
the lab on behalf of a layer's first control-plane node:

- the bootstrap tokens of ``InitConfiguration.bootstrapTokens``, as Secrets
  ``kube-system/bootstrap-token-<id>`` (phases/bootstraptoken/node/token.go;
  the format: https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/);
- the RBAC that lets a token's holder post a CSR, approves node-client CSRs
  automatically, and lets nodes renew (phases/bootstraptoken/node/tlsbootstrap.go:
  ``kubeadm:kubelet-bootstrap``, ``kubeadm:node-autoapprove-bootstrap``,
  ``kubeadm:node-autoapprove-certificate-rotation``);
- ``kube-public/cluster-info`` (the endpoint and CA, for token discovery) and the Role
  letting anonymous clients read it (phases/bootstraptoken/clusterinfo);
- ``kube-system/kubeadm-config`` holding the ClusterConfiguration (phases/uploadconfig).

Each object is created, or replaced where it exists (kubeadm's ``CreateOrUpdate``);
a token Secret that exists is kept (Strata may have created it already).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from io import StringIO
from typing import Any

import httpx
from ruamel.yaml import YAML

from strata.kube.kubeconfig import cluster_info_kubeconfig
from strata.lab.kube_processes import LabKubeError

__all__ = ["bootstrap_objects", "cluster_info_objects", "collection_path", "create_or_replace"]

DEFAULT_GROUP = "system:bootstrappers:kubeadm:default-node-token"
CLUSTER_INFO_ROLE = "kubeadm:bootstrap-signer-clusterinfo"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def bootstrap_objects(
    init: Mapping[str, Any],
    cluster: Mapping[str, Any],
    server: str,
    ca_pem: str,
    now: datetime.datetime,
) -> Iterator[dict[str, Any]]:
    """The API objects above, in the order kubeadm creates them. ``server``: the
    cluster's endpoint URL (``https://VIP:6443``)."""
    groups: set[str] = set()
    for token in init.get("bootstrapTokens") or []:
        yield token_secret(token, now)
        groups.update(token.get("groups") or [DEFAULT_GROUP])
    for group in sorted(groups):
        yield from _tls_bootstrap_bindings(group)
    yield _binding(
        "kubeadm:node-autoapprove-certificate-rotation",
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        "Group",
        "system:nodes",
    )
    yield from cluster_info_objects(server, ca_pem)
    stream = _dump(cluster)
    yield _object("v1", "ConfigMap", "kubeadm-config", "kube-system", ClusterConfiguration=stream)


def token_secret(token: Mapping[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """A bootstrap token Secret from one ``bootstrapTokens`` entry; its expiration is
    ``now`` + ``ttl`` (kubeadm's default 24h), as kubeadm computes it at init; a ttl of
    0 never expires."""
    value = str(token.get("token") or "")
    token_id, _, secret = value.partition(".")
    if not token_id or not secret:
        raise LabKubeError("a bootstrapTokens entry has no token of the form ID.SECRET")
    ttl = _duration(str(token.get("ttl") or "24h0m0s"))
    data = {
        "token-id": token_id,
        "token-secret": secret,
        "auth-extra-groups": ",".join(token.get("groups") or [DEFAULT_GROUP]),
        "description": str(token.get("description") or ""),
    }
    if ttl:
        data["expiration"] = (now + ttl).strftime("%Y-%m-%dT%H:%M:%SZ")
    for usage in token.get("usages") or ["signing", "authentication"]:
        data[f"usage-bootstrap-{usage}"] = "true"
    secret_object = _object("v1", "Secret", f"bootstrap-token-{token_id}", "kube-system")
    return secret_object | {"type": "bootstrap.kubernetes.io/token", "stringData": data}


def create_or_replace(client: httpx.Client, manifest: Mapping[str, Any]) -> None:
    """POSTs ``manifest``; on 409 replaces it (PUT with the current resourceVersion),
    except a bootstrap token Secret, which is kept. Raises ``LabKubeError`` otherwise."""
    collection = collection_path(manifest)
    created = client.post(collection, json=manifest)
    if created.status_code == 201:
        return
    if created.status_code == 409 and manifest.get("kind") != "Secret":
        path = f"{collection}/{manifest['metadata']['name']}"
        current = client.get(path).json()
        body = dict(manifest)
        version = current["metadata"]["resourceVersion"]
        body["metadata"] = {**manifest["metadata"], "resourceVersion": version}
        created = client.put(path, json=body)
    if created.status_code not in (200, 201, 409):
        what = f"{manifest['kind']} {manifest['metadata']['name']}"
        raise LabKubeError(f"the API refused {what}: {created.status_code} {created.text[:300]}")


def collection_path(manifest: Mapping[str, Any]) -> str:
    version, kind = str(manifest["apiVersion"]), str(manifest["kind"])
    base = f"/api/{version}" if "/" not in version else f"/apis/{version}"
    plural = kind.lower() + "s"
    namespace = manifest["metadata"].get("namespace")
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def _tls_bootstrap_bindings(group: str) -> Iterator[dict[str, Any]]:
    yield _binding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", "Group", group)
    yield _binding(
        "kubeadm:node-autoapprove-bootstrap",
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        "Group",
        group,
    )


def cluster_info_objects(server: str, ca_pem: str) -> Iterator[dict[str, Any]]:
    """``kube-public/cluster-info`` for ``server`` and its CA, and the Role and
    RoleBinding letting anonymous clients read it."""
    kubeconfig = cluster_info_kubeconfig(server, ca_pem)
    yield _object("v1", "ConfigMap", "cluster-info", "kube-public", kubeconfig=kubeconfig)
    role = _object("rbac.authorization.k8s.io/v1", "Role", CLUSTER_INFO_ROLE, "kube-public")
    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}
    yield role | {"rules": [rule | {"resourceNames": ["cluster-info"]}]}
    binding = _object(
        "rbac.authorization.k8s.io/v1", "RoleBinding", CLUSTER_INFO_ROLE, "kube-public"
    )
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": CLUSTER_INFO_ROLE}
    subject = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:anonymous"}
    yield binding | {"roleRef": role_ref, "subjects": [subject]}


def _binding(name: str, cluster_role: str, kind: str, subject: str) -> dict[str, Any]:
    binding = _object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name, None)
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
    member = {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}
    return binding | {"roleRef": role_ref | {"name": cluster_role}, "subjects": [member]}


def _object(
    api_version: str, kind: str, name: str, namespace: str | None, **data: str
) -> dict[str, Any]:
    metadata: dict[str, str] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    made: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
    return made | ({"data": data} if data else {})


def _duration(text: str) -> datetime.timedelta:
    """A Go duration such as ``2h0m0s`` (the units kubeadm writes)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise LabKubeError(f"bootstrap token ttl {text!r} is not a duration such as 24h0m0s")
    unit = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return datetime.timedelta(seconds=sum(float(n) * unit[u] for n, u in parts))


def _dump(document: Mapping[str, Any]) -> str:
    out = StringIO()
    YAML(typ="safe", pure=True).dump(dict(document), out)
    return out.getvalue()
