"""The few Kubernetes API verbs the Kubernetes store uses, over one ``httpx.Client``,
each request counted (``Requests``: reads, writes, Events) so a benchmark can say how
many API requests a server costs.

Paths and verbs are the Kubernetes API's own (kubernetes.io/docs/reference/using-api/
api-concepts/): GET/LIST read, POST creates (409 ``AlreadyExists`` when the name is
taken), PUT replaces and carries ``metadata.resourceVersion`` (409 ``Conflict`` when the
object moved on since it was read), DELETE may carry preconditions. Those two 409s are
answers the store acts on, returned as ``None``; any other failure is ``KubeStoreError``,
whose message names the request and the API's reason but never a request or response
body (a Secret's body is a secret).
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from strata.errors import StrataError
from strata.store.kube_http import HttpError, KubeHttp, PoolTimeout

__all__ = [
    "USER_AGENT",
    "KubeApi",
    "KubeStoreError",
    "Requests",
    "client_from_kubeconfig",
    "short_path",
]

Obj = dict[str, Any]
USER_AGENT = "strata"  # every request's, so every write's field manager is "strata"


def _http_errors() -> tuple[type[Exception], ...]:
    import httpx2  # lightkube's HTTP client, a fork of httpx with its own exceptions

    return (httpx.HTTPError, httpx2.HTTPError, HttpError)


def _pool_timeouts() -> tuple[type[Exception], ...]:
    import httpx2

    return (httpx.PoolTimeout, httpx2.PoolTimeout, PoolTimeout)


_HTTP_ERRORS = _http_errors()
_POOL_TIMEOUTS = _pool_timeouts()  # the client's connections all busy for its timeout
_POOL_WAITS = 10  # such waits before giving up (many threads share one client)


class KubeStoreError(StrataError):
    """The Kubernetes API refused or failed a request of the store."""

    kind = "kube-store"
    hint = "check that the API server answers and that Strata's account may do this (RBAC)"

    def __init__(self, verb: str, path: str, status: int, reason: str) -> None:
        super().__init__(f"Kubernetes API: {verb} {path}: {status} {reason}")
        self.status = status


@dataclass
class Requests:
    """Requests made, by kind: ``read`` (GET, LIST pages), ``write`` (POST, PUT, PATCH,
    DELETE of the store's objects) and ``event`` (POSTs of human-facing Events, counted
    apart: they are best effort, not state)."""

    counts: Counter[str] = field(default_factory=Counter)
    by_resource: Counter[str] = field(default_factory=Counter)

    @property
    def reads(self) -> int:
        return self.counts["read"]

    @property
    def writes(self) -> int:
        return self.counts["write"]

    @property
    def events(self) -> int:
        return self.counts["event"]


def client_from_kubeconfig(path: Path | str | None = None) -> KubeHttp:
    """The store's HTTP client (``kube_http.KubeHttp``) for the kubeconfig at ``path``
    (None: ``$KUBECONFIG``, then ``~/.kube/config``, then the in-cluster service
    account), its connection parameters lightkube's own: the cluster's CA, a client
    certificate, a bearer token, a token file re-read when the API answers 401 (the
    kubelet rotates a pod's service-account token) or an exec credential plugin (EKS,
    GKE). ``KubeStoreError`` when the kubeconfig has no current context or user."""
    from lightkube.config.client_adapter import ConnectionParams
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.core.exceptions import ConfigError

    from strata.kube.kubeconfig_load import KubeconfigRefused, load_kubeconfig

    where = str(path or "kubeconfig")
    try:
        config = (load_kubeconfig(Path(path)) if path is not None else KubeConfig.from_env()).get()
    except KubeconfigRefused as refused:
        raise KubeStoreError("OPEN", where, 0, str(refused).removeprefix(f"{where}: ")) from None
    except (ConfigError, OSError, KeyError, ValueError) as exc:
        raise KubeStoreError("OPEN", where, 0, str(exc)) from None
    if config is None or config.user is None:
        raise KubeStoreError("OPEN", str(path or "kubeconfig"), 0, "no current context or user")
    try:
        params = ConnectionParams(trust_env=False).httpx_params(config)
    except (TypeError, ValueError, OSError) as exc:  # a field lightkube cannot use
        why = f"not a usable kubeconfig: {type(exc).__name__}"
        raise KubeStoreError("OPEN", where, 0, why) from None
    return KubeHttp(str(params["base_url"]), params["verify"], params["auth"], timeout=30.0)


class KubeApi:
    """One client and its request counter; every method takes an API path. ``client``:
    the store's own (``kube_http.KubeHttp``, ``client_from_kubeconfig``), an
    ``httpx.Client`` or lightkube's ``httpx2.Client``, its base URL the API server's."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests = Requests()
        self._lock = threading.Lock()

    def _send(
        self, verb: str, path: str, count: str, body: Obj | None = None, **kw: Any
    ) -> httpx.Response:
        with self._lock:  # the store's threads share the counter
            self.requests.counts[count] += 1
            self.requests.by_resource[f"{verb} {_resource(path)}"] += 1
        # whatever the client: the API server names the store's writes' field manager
        # after it (metadata.managedFields), which kube_clear tells the store's own by
        kw["headers"] = {"User-Agent": USER_AGENT, **(kw.get("headers") or {})}
        for _ in range(_POOL_WAITS):
            try:
                response: httpx.Response = self.client.request(verb, path, json=body, **kw)
            except _POOL_TIMEOUTS:  # no connection was free: nothing was sent, so again
                continue
            except _HTTP_ERRORS as exc:
                raise KubeStoreError(verb, path, 0, type(exc).__name__) from None
            return response  # httpx2's and KubeHttp's Response have httpx's shape
        raise KubeStoreError(verb, path, 0, "PoolTimeout")

    def get(self, path: str, params: dict[str, str] | None = None) -> Obj | None:
        """The object; None when it does not exist. ``params``: the query (e.g. a
        ``resourceVersion``)."""
        response = self._send("GET", path, "read", params=params)
        if response.status_code == 404:
            return None
        return _json(response, "GET", path)

    def items(self, path: str, selector: str | None = None, page: int = 500) -> Iterator[Obj]:
        """Every item of the collection (label ``selector``), ``page`` at a time."""
        params: dict[str, str | int] = {"limit": page}
        if selector:
            params["labelSelector"] = selector
        while True:
            listed = _json(self._send("GET", path, "read", params=params), "LIST", path)
            yield from listed.get("items") or []
            token = (listed.get("metadata") or {}).get("continue")
            if not token:
                return
            params["continue"] = token

    def names(self, path: str, selector: str) -> list[str]:
        """The names in a collection, metadata only (PartialObjectMetadataList, meta.k8s.io/v1)."""
        accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
        params = {"labelSelector": selector}
        response = self._send("GET", path, "read", params=params, headers={"Accept": accept})
        listed = _json(response, "LIST", path)
        return [item["metadata"]["name"] for item in listed.get("items") or []]

    def create(self, path: str, body: Obj, count: str = "write") -> Obj | None:
        """POST; None when the name is taken (409 AlreadyExists)."""
        response = self._send("POST", path, count, body)
        if response.status_code == 409:
            return None
        return _json(response, "POST", path)

    def replace(self, path: str, body: Obj) -> Obj | None:
        """PUT with the body's resourceVersion; None when the object moved on (409).
        The body's ``metadata.managedFields`` is not sent: the API server keeps the
        stored ones for an update that carries none (Kubernetes API, Server-Side Apply:
        clients unaware of the field never strip it), and they are ~500 bytes of a
        Server's."""
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and "managedFields" in metadata:
            kept = {k: v for k, v in metadata.items() if k != "managedFields"}
            body = {**body, "metadata": kept}
        response = self._send("PUT", path, "write", body)
        if response.status_code == 409:
            return None
        return _json(response, "PUT", path)

    def merge(self, path: str, patch: Obj) -> Obj | None:
        """JSON merge patch (RFC 7386); None when the object does not exist."""
        headers = {"Content-Type": "application/merge-patch+json"}
        response = self._send("PATCH", path, "write", patch, headers=headers)
        if response.status_code == 404:
            return None
        return _json(response, "PATCH", path)

    def delete(self, path: str, resource_version: str | None = None) -> bool:
        """DELETE (only at ``resource_version`` when given); False when it was gone or
        had moved on."""
        body: Obj | None = None
        if resource_version is not None:
            body = {"preconditions": {"resourceVersion": resource_version}}
        response = self._send("DELETE", path, "write", body)
        if response.status_code in (404, 409):
            return False
        _json(response, "DELETE", path)
        return True


def short_path(path: str) -> str:
    """An object's API path as a person reads it: its resource and name
    (``/apis/apps/v1/namespaces/ns/deployments/x`` -> ``deployments/x``)."""
    return "/".join(path.rstrip("/").split("/")[-2:])


def _resource(path: str) -> str:
    """``/apis/g/v/namespaces/ns/servers/x/status`` -> ``servers/status``."""
    parts = path.split("?")[0].strip("/").split("/")
    if "namespaces" in parts and len(parts) > parts.index("namespaces") + 2:
        parts = parts[parts.index("namespaces") + 2 :]
    kind = parts[0]
    return f"{kind}/{parts[2]}" if len(parts) > 2 else kind


def _shortened(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _json(response: httpx.Response, verb: str, path: str) -> Obj:
    if response.status_code >= 400:
        reason = "error"
        with contextlib.suppress(ValueError, AttributeError):
            status = response.json()  # a metav1.Status: its reason, and what it says
            reason = str(status.get("reason") or reason)
            if status.get("message"):
                reason += f" ({_shortened(str(status['message']))})"
        raise KubeStoreError(verb, path, response.status_code, reason)
    result: Obj = response.json()
    return result
