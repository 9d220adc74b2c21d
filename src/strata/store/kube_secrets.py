"""What the Kubernetes store keeps secret, in core/v1 Secrets and never in a custom
resource or the log: the boot service's token-signing key (``<topology>-boot-token-key``)
and each layer's cluster material (``<topology>-cluster-<layer>``: PKI, bootstrap
token, certificate key), labelled ``strata.dev/topology``.

The rules of ``strata.store.clusters`` hold across processes:

- first writer wins: a key or a layer's first material is *created* (POST); a 409
  ``AlreadyExists`` means another writer kept one first, and that one is read back and
  returned;
- a token is replaced by a PUT carrying the ``resourceVersion`` read, only while the
  stored token is the one the caller is replacing; a 409 is read again and decided
  again, so two writers rotating at once end with one new token.
"""

from __future__ import annotations

import base64
import secrets

from strata.store.clusters import StoredCluster
from strata.store.kube_api import KubeApi, Obj

__all__ = ["KubeSecrets"]

_ATTEMPTS = 20
_TEXT = ("pki", "token", "certificate-key")
_TIMES = ("token-expires", "created", "rotated")


class KubeSecrets:
    def __init__(self, api: KubeApi, namespace: str, topology: str) -> None:
        self.api, self.topology = api, topology
        self._collection = f"/api/v1/namespaces/{namespace}/secrets"
        self._key: bytes | None = None

    def token_key(self) -> bytes:
        """The key that signs boot tokens: 32 random bytes, made once per topology."""
        if self._key is None:
            name = f"{self.topology}-boot-token-key"
            made = self._secret(name, {"key": secrets.token_bytes(32)}, "boot-token-key")
            kept = self.api.create(self._collection, made) or self.api.get(self._path(name))
            if kept is None:
                raise RuntimeError(f"Secret {name} was deleted while it was read")
            self._key = base64.b64decode(kept["data"]["key"])
        return self._key

    def cluster(self, layer: str) -> StoredCluster | None:
        found = self.api.get(self._path(self._name(layer)))
        return None if found is None else _cluster(layer, found)

    def keep_cluster(self, first: StoredCluster) -> StoredCluster:
        body = self._secret(self._name(first.layer), _data(first), "cluster")
        body["metadata"]["labels"]["strata.dev/layer"] = first.layer
        made = self.api.create(self._collection, body)
        if made is not None:
            return _cluster(first.layer, made)
        kept = self.cluster(first.layer)
        if kept is None:
            raise RuntimeError(f"layer {first.layer}: its Secret was deleted while it was read")
        return kept

    def rotate_cluster_token(
        self, layer: str, replacing: str, token: str, expires: float, now: float
    ) -> StoredCluster:
        """``KeyError`` naming the layer when nothing is kept for it."""
        path = self._path(self._name(layer))
        for _ in range(_ATTEMPTS):
            found = self.api.get(path)
            if found is None:
                raise KeyError(layer)
            row = _cluster(layer, found)
            if row.token != replacing:
                return row  # another writer replaced it first
            row = StoredCluster(
                layer, row.pki, token, expires, row.certificate_key, row.created, now
            )
            written = self.api.replace(path, {**found, "data": _encoded(_data(row))})
            if written is not None:
                return _cluster(layer, written)
        raise RuntimeError(f"layer {layer}: the token kept changing while it was replaced")

    def _name(self, layer: str) -> str:
        return f"{self.topology}-cluster-{layer}"

    def _path(self, name: str) -> str:
        return f"{self._collection}/{name}"

    def _secret(self, name: str, data: dict[str, bytes], role: str) -> Obj:
        labels = {"strata.dev/topology": self.topology, "strata.dev/secret": role}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": name, "labels": labels},
            "data": _encoded(data),
        }


def _data(row: StoredCluster) -> dict[str, bytes]:
    text = (row.pki, row.token, row.certificate_key)
    times = (row.token_expires, row.created, row.rotated)
    return {k: v.encode() for k, v in zip(_TEXT, text, strict=True)} | {
        k: repr(float(v)).encode() for k, v in zip(_TIMES, times, strict=True)
    }


def _encoded(data: dict[str, bytes]) -> dict[str, str]:
    return {k: base64.b64encode(v).decode("ascii") for k, v in data.items()}


def _cluster(layer: str, secret: Obj) -> StoredCluster:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    pki, token, key = (data[k] for k in _TEXT)
    expires, created, rotated = (float(data[k]) for k in _TIMES)
    return StoredCluster(layer, pki, token, expires, key, created, rotated)
