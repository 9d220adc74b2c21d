"""A layer's cluster material, generated the first time a run needs it and kept: the PKI
(``pki.ClusterPKI``), the current bootstrap token and the certificate key.

The one module of ``strata.kube`` that reads and writes a store: through the
``ClusterSecretsStore`` it is handed (``strata.store.clusters``, where the rules that
make concurrent writers safe are), never a file or a socket of its own; the clock comes
in as ``now``. The layer's name is the key: a re-plan that changes the layer's version
or endpoint keeps its CAs (a new CA would strand every joined node), and so does a
second apply.

A token is rotated only while the layer still has nodes to join: one that expired, or
expires within ``ROTATE_MARGIN``, is replaced (the old one is gone from the store;
deleting its Secret from the cluster is the caller's). Whether every node has joined is
the caller's to say (``all_joined``): the controller knows, this module does not.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.material import JoinMaterial
from strata.kube.pki import ADMIN_CERT_LIFETIME, ClusterPKI, generate_pki, issue_client_cert
from strata.kube.tokens import DEFAULT_TTL, BootstrapToken, CertificateKey, new_certificate_key
from strata.store.clusters import ClusterSecretsStore, StoredCluster

if TYPE_CHECKING:
    from strata.plan.model import ClusterPlan

__all__ = [
    "ADMIN_GROUP",
    "ADMIN_USER",
    "ROTATE_MARGIN",
    "ClusterMaterial",
    "cluster_material",
    "layer_admin_kubeconfig",
    "material_of",
    "stored_material",
]

# A node handed the token in its Ignition joins after installing and rebooting: a token
# with less than this left is replaced rather than handed out.
ROTATE_MARGIN = datetime.timedelta(hours=2)
ADMIN_USER = "strata-admin"
ADMIN_GROUP = "system:masters"  # bound to cluster-admin by default (RBAC docs: default roles)


@dataclass(frozen=True)
class ClusterMaterial:
    """One layer's secrets as ``strata.kube`` uses them; ``repr`` shows only what is
    public (the layer, the discovery hash, the token's id and expiry)."""

    layer: str
    pki: ClusterPKI
    token: BootstrapToken
    certificate_key: CertificateKey
    created: datetime.datetime
    """When the layer's material was first kept (UTC)."""
    rotated: datetime.datetime
    """When the token was last replaced (UTC; ``created`` until the first rotation)."""

    def __repr__(self) -> str:
        return (
            f"ClusterMaterial(layer={self.layer!r}, ca={self.pki.discovery_hash}, "
            f"token={self.token}, token_expires={self.token.expires.isoformat()})"
        )

    def join_material(self, now: datetime.datetime) -> JoinMaterial:
        """What the layer's kubeadm and k3s configs carry; the TTL is what is left of the
        token at ``now``. ``ValueError`` when the token has expired."""
        return JoinMaterial(
            token=self.token.value,
            token_ttl=self.token.expires - now,
            ca_cert_hashes=(self.pki.discovery_hash,),
            certificate_key=self.certificate_key.value,
        )


def cluster_material(
    store: ClusterSecretsStore,
    layer: ClusterPlan,
    now: datetime.datetime,
    *,
    all_joined: Callable[[], bool],
    token_ttl: datetime.timedelta = DEFAULT_TTL,
) -> ClusterMaterial:
    """The layer's material: what the store keeps, generated and kept first when it keeps
    nothing yet (four RSA keys: about a second), and with a new token when the stored one
    expires within ``ROTATE_MARGIN`` and ``all_joined()`` says nodes are still to join.

    ``now``: timezone-aware. Raises ``PKIError`` / ``TokenError`` when the stored text is
    damaged (naming the file or field, never a secret); ``ValueError`` for a
    ``token_ttl`` not longer than ``ROTATE_MARGIN`` (every call would rotate)."""
    if token_ttl <= ROTATE_MARGIN:
        raise ValueError(f"token_ttl {token_ttl} must be longer than {ROTATE_MARGIN}")
    row = store.cluster(layer.name) or store.keep_cluster(_first(layer.name, now, token_ttl))
    material = material_of(row)
    if material.token.expires - now > ROTATE_MARGIN or all_joined():
        return material
    token = BootstrapToken.generate(now, token_ttl)
    row = store.rotate_cluster_token(
        layer.name, row.token, token.value, token.expires.timestamp(), now.timestamp()
    )
    return material_of(row)


def stored_material(store: ClusterSecretsStore, layer: str) -> ClusterMaterial | None:
    """What the store keeps for ``layer``, or None: generates nothing, writes nothing (a
    reader's view, for a store opened read-only)."""
    row = store.cluster(layer)
    return None if row is None else material_of(row)


def layer_admin_kubeconfig(
    material: ClusterMaterial,
    server: str,
    now: datetime.datetime,
    lifetime: datetime.timedelta = ADMIN_CERT_LIFETIME,
) -> str:
    """A kubeconfig for ``server`` (the layer's ``https://VIP:port``) trusting the layer's
    CA, as Strata's admin: a client certificate minted now from the stored CA, CN
    ``strata-admin``, O ``system:masters``, valid ``lifetime`` (one hour by default).
    The cluster is named after the layer, the context ``strata-admin@<layer>``."""
    credential = issue_client_cert(material.pki.ca, ADMIN_USER, (ADMIN_GROUP,), lifetime, now=now)
    return admin_kubeconfig(
        server,
        material.pki.ca.cert_pem,
        credential.cert_pem,
        credential.key_pem,
        user=ADMIN_USER,
        cluster=material.layer,
    )


def _first(layer: str, now: datetime.datetime, token_ttl: datetime.timedelta) -> StoredCluster:
    token = BootstrapToken.generate(now, token_ttl)
    return StoredCluster(
        layer=layer,
        pki=generate_pki(now).to_json(),
        token=token.value,
        token_expires=token.expires.timestamp(),
        certificate_key=new_certificate_key().value,
        created=now.timestamp(),
        rotated=now.timestamp(),
    )


def material_of(row: StoredCluster) -> ClusterMaterial:
    return ClusterMaterial(
        layer=row.layer,
        pki=ClusterPKI.from_json(row.pki),
        token=BootstrapToken.parse(row.token, _utc(row.token_expires)),
        certificate_key=CertificateKey(row.certificate_key),
        created=_utc(row.created),
        rotated=_utc(row.rotated),
    )


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)
