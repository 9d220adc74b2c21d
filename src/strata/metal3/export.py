"""``strata export metal3``: a topology as the Metal3 and Cluster API objects that
describe the same servers and clusters.

One BareMetalHost per server (strata.metal3.hosts), one Secret per set of BMC
credentials the exported servers use (the password resolved as ``strata apply``
resolves it: strata.bmc.credentials), and per kubeadm layer the Cluster API objects
(strata.metal3.capi). A credential that cannot be resolved stops the export before
anything is written; its message names the node and the credentials entry, never a
value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strata.bmc.credentials import CredentialsError, resolve_credentials
from strata.boot.checksums import published_digests
from strata.errors import StrataError
from strata.ignition import profile_for
from strata.metal3.capi import cluster_objects
from strata.metal3.checks import bad_labels, bad_namespace, bad_url
from strata.metal3.hosts import bare_metal_host, credentials_secret
from strata.plan import ClusterPlan, NodePlan, build_plan
from strata.topology import Topology

__all__ = ["ExportError", "ExportOptions", "Exported", "export_metal3"]


class ExportError(StrataError):
    """The topology cannot be exported as it is: a credential that cannot be read, a
    node without credentials, a layer that is not there or not kubeadm."""

    kind = "metal3-export"


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """``layer``: only this layer's servers and cluster (None: every layer);
    ``cluster_api``: also the Cluster API objects; ``provisioned``: servers Strata
    installed already (``externallyProvisioned``); ``image_base``: the URL under which
    OS disk images are published as ``<os>/<version>/<file>`` (the artifact mirror's
    layout), ``artifacts``: the mirror's directory, whose checksum files give the
    image's checksum."""

    layer: str | None = None
    namespace: str | None = None
    cluster_api: bool = True
    provisioned: Collection[str] = ()
    image_base: str | None = None
    artifacts: Path | None = None


@dataclass(frozen=True, slots=True)
class Exported:
    documents: list[dict[str, Any]]  # Secrets, BareMetalHosts, Cluster API objects
    notes: list[str] = field(default_factory=list)  # what was left out, and why


def export_metal3(topology: Topology, options: ExportOptions) -> Exported:
    """The objects, in the order they are applied. Raises ``ExportError`` for what
    Metal3, Cluster API or the API server would refuse (strata.metal3.checks), every
    fault of one kind named at once."""
    for problem in (bad_namespace(options.namespace), bad_url(options.image_base)):
        if problem is not None:
            raise ExportError(problem)
    plan = build_plan(topology)
    clusters = _clusters(plan.clusters, options.layer)
    names = {c.name for c in clusters}
    nodes = [n for n in plan.nodes if n.layer in names]
    provisioned = set(options.provisioned)
    documents = _secrets(topology, nodes, options.namespace)
    documents += [
        bare_metal_host(
            n,
            topology=topology.name,
            namespace=options.namespace,
            provisioned=n.name in provisioned,
        )
        for n in nodes
    ]
    notes = [
        f"{n.name}: bmc.fallback ({n.bmc_fallback.address}) left out: a BareMetalHost has "
        "one BMC address, its first"
        for n in nodes
        if n.bmc_fallback is not None
    ]
    problems: list[str] = []
    if options.cluster_api:
        for cluster in clusters:
            documents += _cluster_api(topology.name, cluster, nodes, options, notes, problems)
    problems += bad_labels(documents)
    if problems:
        raise ExportError("; ".join(problems))
    return Exported(documents, notes)


def _clusters(clusters: tuple[ClusterPlan, ...], layer: str | None) -> list[ClusterPlan]:
    if layer is None:
        return list(clusters)
    chosen = [c for c in clusters if c.name == layer]
    if not chosen:
        known = ", ".join(c.name for c in clusters)
        raise ExportError(f"no layer named {layer!r} (layers: {known})")
    return chosen


def _secrets(
    topology: Topology, nodes: list[NodePlan], namespace: str | None
) -> list[dict[str, Any]]:
    """One Secret per credentials entry the nodes use; every failure named at once."""
    users: dict[str, str] = {}  # credentials entry -> the first node that uses it
    problems: list[str] = []
    unreadable = False
    for node in nodes:
        if node.bmc_credentials is None:
            problems.append(
                f"node {node.name}: no bmc.credentials (a BareMetalHost needs a "
                "credentialsName Secret)"
            )
        else:
            users.setdefault(node.bmc_credentials, node.name)
    base_dir = Path(topology.file).parent
    secrets = []
    for name, node_name in users.items():
        spec = topology.credentials[name]
        if spec.password.secret is not None:
            problems.append(
                f"node {node_name}: credentials {name}: the password is Kubernetes Secret "
                f"{spec.password.secret.name}'s key {spec.password.secret.key}; Metal3 reads "
                "a Secret of keys username and password that the export writes: give the "
                "password as env or file to export it"
            )
            continue
        try:
            found = resolve_credentials(spec, base_dir)
        except CredentialsError as exc:  # names the reference, never a value
            problems.append(f"node {node_name}: {exc}")
            unreadable = True
            continue
        for what, value in (("user name", found.username), ("password", found.password.reveal())):
            if not value:
                problems.append(
                    f"node {node_name}: credentials {name}: the {what} is empty (Metal3 "
                    "refuses a BMC Secret without it)"
                )
        secrets.append(credentials_secret(name, found.username, found.password.reveal(), namespace))
    if problems:
        error = ExportError("; ".join(problems))
        if unreadable:
            error.hint = "set the variables or files the credentials name, as for `strata apply`"
        raise error
    return secrets


def _cluster_api(
    topology: str,
    cluster: ClusterPlan,
    nodes: list[NodePlan],
    options: ExportOptions,
    notes: list[str],
    problems: list[str],
) -> list[dict[str, Any]]:
    if cluster.distribution != "kubeadm":
        message = (
            f"layer {cluster.name}: a {cluster.distribution} layer has no Cluster API objects "
            "(Cluster API's kubeadm providers build kubeadm clusters only); its hosts are exported"
        )
        if options.layer is not None:
            raise ExportError(message)
        notes.append(message)
        return []
    if len(cluster.control_plane) % 2 == 0:
        problems.append(
            f"layer {cluster.name}: {len(cluster.control_plane)} control-plane nodes; Cluster "
            "API's KubeadmControlPlane refuses an even replica count with stacked etcd (an "
            "odd number keeps etcd's quorum): use an odd number, or --no-cluster-api"
        )
    if options.image_base is None:
        problems.append(
            f"layer {cluster.name}: its Metal3MachineTemplates need an image, which "
            "--image-base gives (the URL the OS disk images are served under as "
            "<os>/<version>/<file>); or export the hosts only with --no-cluster-api"
        )
        return []
    members = [n for n in nodes if n.layer == cluster.name]
    keys = list(dict.fromkeys(k for n in members for k in n.ssh_keys))
    images = {
        role: _image(
            f"layer {cluster.name} {what}",
            [n for n in members if n.role == role],
            options,
            problems,
        )
        for role, what in (("control-plane", "control-plane nodes"), ("worker", "workers"))
    }
    return cluster_objects(
        cluster, topology=topology, namespace=options.namespace, ssh_keys=keys, images=images
    )


def _image(
    who: str, nodes: list[NodePlan], options: ExportOptions, problems: list[str]
) -> Mapping[str, str] | None:
    """The Metal3 image of a role's nodes: the OS disk image the boot recipe installs
    (strata.ignition.profiles), at ``image_base``, with its checksum from the mirror's
    published checksum files — CAPM3 refuses a Metal3MachineTemplate whose image has no
    URL or no checksum, so either missing is a problem."""
    releases = {(n.os_name, n.os_version) for n in nodes}
    if not nodes or options.image_base is None:
        return None
    if len(releases) != 1:
        problems.append(f"{who}: they run {len(releases)} OS releases; a template has one image")
        return None
    os_name, version = releases.pop()
    disk = profile_for(os_name).artifacts.names(version)["disk_image"]
    image = {"url": f"{options.image_base.rstrip('/')}/{os_name}/{version}/{disk}"}
    digests = _digests(options.artifacts, os_name, version).get(disk, {})
    algorithm = next((a for a in ("sha512", "sha256") if a in digests), None)
    if algorithm is None:
        where = options.artifacts / os_name / version if options.artifacts else "--artifacts"
        problems.append(
            f"{who}: no checksum for {disk} in the artifact mirror ({where}); Metal3 needs "
            "the image's checksum: give --artifacts, the mirror whose checksum files list it"
        )
        return None
    return image | {"checksum": digests[algorithm], "checksumType": algorithm}


def _digests(artifacts: Path | None, os_name: str, version: str) -> dict[str, dict[str, str]]:
    directory = artifacts / os_name / version if artifacts is not None else None
    if directory is None or not directory.is_dir():
        return {}
    try:
        return published_digests(directory)
    except (OSError, ValueError):
        return {}
