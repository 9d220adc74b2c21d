"""The Ignition fragment that installs and starts Kubernetes on a node, per OS, from
Strata's artifact mirror. Pure: the files, URLs and digests come in; a dict goes out.

``kube_fragment`` is the entry point: merged into the node's final config (``final_config``
takes it as one more fragment), it gives the installed system

- **Flatcar** (https://www.flatcar.org/docs/latest/container-runtimes/getting-started-with-kubernetes/,
  "With systemd-sysext"; the bakery's https://github.com/flatcar/sysext-bakery docs
  ``kubernetes.md`` and ``k3s.md``): the Kubernetes or k3s systemd-sysext image
  downloaded to ``/opt/extensions/NAME/NAME-RELEASE-x86-64.raw`` and linked from
  ``/etc/extensions/NAME.raw`` (``storage.links``), ``systemd-sysext.service`` enabled.
  The Kubernetes image brings kubeadm, kubelet, kubectl, CNI plugins and the kubelet
  unit with kubeadm's drop-in; the runtime is Flatcar's built-in containerd, which the
  Flatcar guide's ``kubeadm.service`` requires (``Requires=``/``After=containerd.service``).
  The k3s image brings ``k3s.service`` and ``k3s-agent.service``; as the bakery's k3s
  page says, the node's role is chosen by linking one of them into
  ``multi-user.target.wants``.
- **Fedora CoreOS / RHEL CoreOS**: ``/usr`` is read-only (an OSTree deployment;
  https://docs.fedoraproject.org/en-US/fedora-coreos/storage/ : ``/usr/local`` is
  writable, under ``/var``), so the programs go to ``/usr/local/bin`` (0755), as the
  kubeadm install page does "without a package manager", with kubeadm's packaged
  ``kubelet.service`` and ``10-kubeadm.conf`` (``strata.ignition.kube_units``) or the
  k3s install script's unit. The container runtime is the one the OS ships, which Strata
  does not install and could not run here: **assumed** containerd on FCOS (listed in
  fedora-coreos-config's manifest since coreos/fedora-coreos-config#1618, "explicitly
  list containerd", for Kubernetes on FCOS; coreos/fedora-coreos-tracker#767) and CRI-O
  on RHCOS (OpenShift's runtime, ``crio.service``); kubeadm finds the runtime by its
  socket. Whether FCOS's default containerd configuration has the CRI plugin on, and
  whether RHCOS's CRI-O matches the layer's Kubernetes minor, is not verified: a
  fragment in topology.yaml supplies ``/etc/containerd/config.toml`` if needed. k3s
  brings its own containerd everywhere.

Every downloaded file carries the mirror's URL and ``verification.hash`` =
``sha256-HEX`` (Ignition configuration spec v3, ``storage.files[].contents.verification``),
so a node of an air-gapped datacenter fetches nothing from elsewhere. kubeadm nodes get
``strata-kubeadm.service``, a one-shot that runs ``kubeadm init --config
/etc/strata/kubeadm.yaml --upload-certs`` on the layer's first control-plane node and
``kubeadm join --config /etc/strata/kubeadm.yaml`` on the others, once (a sentinel,
``kube_units.KUBEADM_SENTINEL``). k3s nodes run k3s's own units, which join on every start
from ``/etc/rancher/k3s/config.yaml`` and need no one-shot. A kubeadm node given its
``pod_network`` also gets Strata's pod network (``strata.ignition.pod_network``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strata.ignition.build import BuildError, spec_version
from strata.ignition.config import Config, empty, file
from strata.ignition.kube_artifacts import KubeArtifact, directory_for, kube_artifacts
from strata.ignition.kube_units import k3s_unit, kubeadm_dropin, kubeadm_unit, kubelet_unit
from strata.ignition.pod_network import pod_network_files
from strata.ignition.profiles import profile_for
from strata.kube.files import ConfigFile
from strata.kube.kubeadm import KUBEADM_CONFIG_PATH
from strata.kube.node import is_init_node
from strata.kube.podnet import PodNetwork
from strata.topology.os_releases import spec_key

if TYPE_CHECKING:
    from strata.kube.pki import ClusterPKI
    from strata.plan import ClusterPlan, NodePlan

__all__ = ["PKI_DIR", "MirrorRef", "kube_fragment", "pki_files"]

PKI_DIR = "/etc/kubernetes/pki"  # kubeadm's certificatesDir default
SHA256_SINCE = "3.1.0"  # the first spec whose verification.hash takes sha256-
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class MirrorRef:
    """Where the installed node downloads the Kubernetes pieces, and what they must hash to."""

    base_url: str
    """The mirror as machines reach it, no trailing slash: ``http://BOOT:8080/assets``."""
    sha256: Mapping[str, str]
    """Hex SHA-256 by mirror path (``kubernetes/v1.31.2/kubeadm``), from the mirror's
    ``SHA256SUMS`` (``strata.boot.kube_artifacts.mirror_ref`` reads them)."""

    def source(self, artifact: KubeArtifact) -> dict[str, Any]:
        """The ``contents`` of a downloaded file: URL and ``sha256-HEX`` verification.
        Raises ValueError when the mirror lists no well-formed digest for it."""
        digest = self.sha256.get(artifact.mirror_path, "")
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise ValueError(f"the mirror lists no SHA-256 for {artifact.mirror_path}")
        return {
            "source": f"{self.base_url}/{artifact.mirror_path}",
            "verification": {"hash": f"sha256-{digest}"},
        }


@dataclass(frozen=True, slots=True)
class _KubeOS:
    """How an OS family runs Kubernetes (the module docstring has the sources)."""

    bin_dir: str  # where kubeadm/k3s are once installed
    runtime: str  # the container runtime unit a kubeadm node starts kubeadm after
    sysext: bool  # Kubernetes arrives as a systemd-sysext image


_OS = {
    "flatcar": _KubeOS("/usr/bin", "containerd.service", sysext=True),
    "fcos": _KubeOS("/usr/local/bin", "containerd.service", sysext=False),
    "rhcos": _KubeOS("/usr/local/bin", "crio.service", sysext=False),
}


def kube_fragment(
    node: NodePlan,
    cluster: ClusterPlan,
    topology: str,
    files: Sequence[ConfigFile],
    mirror: MirrorRef,
    *,
    pod_network: PodNetwork | None = None,
) -> Config:
    """The Ignition fragment, in the spec the node's OS release reads, that installs the
    layer's Kubernetes on ``node`` from ``mirror`` and starts it; ``files`` (from
    ``strata.kube``: the kubeadm or k3s config, kube-vip's manifest on control-plane
    nodes, and ``pki_files`` on the init node) are written with their modes.
    ``pod_network`` (``strata.kube.podnet.pod_network``, for a layer that
    ``uses_pod_network``): the node's CNI network list, kernel settings and routes to
    the other nodes' pod subnets (``strata.ignition.pod_network``).

    Wiring: ``final_config(plan, profile, [*fragments, kube_fragment(...)], callbacks)``.
    Raises BuildError (naming the node) for a node outside ``cluster``, an unsupported
    version or OS, a file the mirror has no SHA-256 for, or a CA key bound for any node
    but the init node."""
    try:
        config = _fragment(node, cluster, topology, files, mirror)
        if pod_network is not None:
            if cluster.distribution != "kubeadm":
                raise ValueError(f"layer {cluster.name} runs k3s's own pod network")
            style = profile_for(node.os_name).network
            config["storage"]["files"] += pod_network_files(node, pod_network, style)
        return config
    except BuildError:
        raise  # already names the node
    except ValueError as exc:  # VersionError among them
        raise BuildError(f"{node.name}: {exc}") from None


def pki_files(pki: ClusterPKI) -> tuple[ConfigFile, ...]:
    """The layer's CAs and service-account keys where ``kubeadm init`` looks for them
    (``/etc/kubernetes/pki``: ``ca``, ``front-proxy-ca``, ``etcd/ca`` ``.crt``/``.key``,
    ``sa.key``, ``sa.pub``), so that it uses Strata's CAs instead of making its own
    ("Certificate Management with kubeadm", custom certificates). Private keys 0600,
    certificates and the public key 0644 (kubeadm writes them so). For the init node only."""
    return tuple(
        ConfigFile(f"{PKI_DIR}/{name}", text, 0o600 if name.endswith(".key") else 0o644)
        for name, text in sorted(pki.files().items())
    )


def _fragment(
    node: NodePlan,
    cluster: ClusterPlan,
    topology: str,
    files: Sequence[ConfigFile],
    mirror: MirrorRef,
) -> Config:
    kos = _OS.get(node.os_name)
    if kos is None:
        raise ValueError(f"no Kubernetes install for OS {node.os_name!r} (known: {', '.join(_OS)})")
    init = is_init_node(cluster, node)  # ValueError for a node outside the layer
    _check_keys(files, init)
    artifacts = kube_artifacts(node.os_name, cluster.distribution, cluster.version)
    config = empty(_spec(node))
    config["storage"] = {
        "files": [_download(a, mirror) for a in artifacts]
        + [file(f.path, f.contents, f.mode) for f in files]
    }
    links: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    if kos.sysext:
        links, units = _sysext(artifacts[0], cluster.distribution)
    server = node.name in cluster.control_plane
    if cluster.distribution == "k3s":
        units += _k3s(kos, server, links)
    else:
        units += _kubeadm(kos, init, cluster, topology)
    if links:
        config["storage"]["links"] = links
    config["systemd"] = {"units": units}
    return config


def _spec(node: NodePlan) -> str:
    """The node's spec, if it can check a SHA-256: spec 3.0.0 verifies SHA-512 only
    (``sha256-`` arrived in spec 3.1.0, Ignition's config/v3_1 changelog), and the mirror
    records SHA-256. Only FCOS of 2020 (31.x) reads 3.0.0 alone."""
    version = spec_version(node, profile_for(node.os_name))
    if spec_key(version) < spec_key(SHA256_SINCE):
        raise ValueError(
            f"{node.os_name} {node.os_version} reads Ignition spec {version}, which cannot "
            f"verify a download's SHA-256 (spec {SHA256_SINCE} can): choose a later release"
        )
    return version


def _download(artifact: KubeArtifact, mirror: MirrorRef) -> dict[str, Any]:
    return {
        "path": artifact.target,
        "mode": artifact.mode,
        "overwrite": True,
        "contents": mirror.source(artifact),
    }


def _sysext(
    image: KubeArtifact, distribution: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Flatcar's recipe: the image linked as ``/etc/extensions/NAME.raw`` (a symlink,
    ``hard: false``), and systemd-sysext, which merges it into ``/usr`` at boot, enabled."""
    link = {
        "path": f"/etc/extensions/{directory_for(distribution)}.raw",
        "target": image.target,
        "hard": False,
        "overwrite": True,
    }
    return [link], [{"name": "systemd-sysext.service", "enabled": True}]


def _k3s(kos: _KubeOS, server: bool, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """k3s's own unit: on Flatcar the sysext's, linked into ``multi-user.target.wants``
    (the bakery's k3s page); elsewhere written as install.sh writes it, and enabled."""
    name, text = k3s_unit(server, kos.bin_dir if not kos.sysext else "/usr/local/bin")
    if kos.sysext:
        links.append(
            {
                "path": f"/etc/systemd/system/multi-user.target.wants/{name}",
                "target": f"/usr/local/lib/systemd/system/{name}",
                "hard": False,
                "overwrite": True,
            }
        )
        return []
    return [{"name": name, "enabled": True, "contents": text}]


def _kubeadm(kos: _KubeOS, init: bool, cluster: ClusterPlan, topology: str) -> list[dict[str, Any]]:
    """The runtime enabled, the kubelet unit (CoreOS; Flatcar's sysext has its own) and
    ``strata-kubeadm.service``."""
    units: list[dict[str, Any]] = [{"name": kos.runtime, "enabled": True}]
    if not kos.sysext:
        dropin = {"name": "10-kubeadm.conf", "contents": kubeadm_dropin(kos.bin_dir)}
        units.append(
            {
                "name": "kubelet.service",
                "enabled": True,
                "contents": kubelet_unit(kos.bin_dir),
                "dropins": [dropin],
            }
        )
    kubeadm = f"{kos.bin_dir}/kubeadm"
    command = (
        f"{kubeadm} init --config {KUBEADM_CONFIG_PATH} --upload-certs"
        if init
        else f"{kubeadm} join --config {KUBEADM_CONFIG_PATH}"
    )
    after = (kos.runtime, "systemd-sysext.service") if kos.sysext else (kos.runtime,)
    what = "init" if init else "join"
    text = kubeadm_unit(
        command,
        after=after,
        requires=(kos.runtime,),
        description=f"Strata: kubeadm {what} for layer {cluster.name} of {topology}",
    )
    return [*units, {"name": "strata-kubeadm.service", "enabled": True, "contents": text}]


def _check_keys(files: Sequence[ConfigFile], init: bool) -> None:
    """A CA's private key goes to the init node alone: the others get certificates
    through ``kubeadm join`` (control plane: the uploaded, encrypted certificates)."""
    if init:
        return
    keys = [f.path for f in files if f.path.startswith(f"{PKI_DIR}/") and f.path.endswith(".key")]
    if keys:
        raise ValueError(
            f"{', '.join(keys)}: a CA or service-account key is only for the layer's "
            "first control-plane node"
        )
