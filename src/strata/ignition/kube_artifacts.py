"""Which Kubernetes files a node downloads from Strata's artifact mirror, by OS family,
distribution and version: the one catalog the Ignition builder, ``strata artifacts
import`` and the preflight read.

The mirror keeps them beside the OS images, in the same three levels the boot service
serves (``ROOT/DIRECTORY/RELEASE/FILE``, ``GET /assets/DIRECTORY/RELEASE/FILE``):

- ``kubernetes/v1.31.2/`` for a kubeadm layer of Kubernetes 1.31.2: the Flatcar
  systemd-sysext image ``kubernetes-v1.31.2-x86-64.raw`` (the name the Flatcar sysext
  bakery gives it, https://github.com/flatcar/sysext-bakery/releases) and the binaries
  ``kubeadm``, ``kubelet``, ``kubectl`` (as https://dl.k8s.io/v1.31.2/bin/linux/amd64/
  names them) for Fedora CoreOS and RHEL CoreOS;
- ``k3s/v1.31.2+k3s1/`` for a k3s layer: the Flatcar sysext ``k3s-v1.31.2+k3s1-x86-64.raw``,
  the binary ``k3s`` (the k3s release's amd64 asset) for FCOS/RHCOS, and on every OS the
  air-gap image tarball ``k3s-airgap-images-amd64.tar.zst`` k3s imports at start
  (https://docs.k3s.io/installation/airgap, "Manually Deploy Images").

RELEASE is the release's own tag (``v1.31.2``, ``v1.31.2+k3s1``) whichever way
topology.yaml spells the version. There is no ``bin/`` level: the boot service looks a
request up as three plain names and never lets a client's path reach the file system
(``strata.boot.assets``). Pure: names only, no files.
"""

from __future__ import annotations

from dataclasses import dataclass

from strata.kube.versions import k3s_release, kubeadm_api, kubernetes_version

__all__ = [
    "DIRECTORIES",
    "KubeArtifact",
    "directory_for",
    "kube_artifacts",
    "mirror_release",
]

ARCH = "x86-64"  # the sysext bakery's spelling of x86_64; Strata's profiles are x86_64 only
DIRECTORIES = {"kubeadm": "kubernetes", "k3s": "k3s"}
"""The mirror directory of each distribution's files (the sysext bakery's extension names)."""
_SYSEXT_OS = frozenset({"flatcar"})  # reads systemd-sysext images from /etc/extensions
_K3S_IMAGES = "k3s-airgap-images-amd64.tar.zst"


@dataclass(frozen=True, slots=True)
class KubeArtifact:
    """One file of the mirror a node downloads, and where it goes on the node."""

    directory: str
    """``kubernetes`` or ``k3s``: the mirror's top level (``DIRECTORIES``)."""
    release: str
    """The release tag, the mirror's second level: ``v1.31.2``, ``v1.31.2+k3s1``."""
    name: str
    """The file name in the mirror, e.g. ``kubeadm``."""
    target: str
    """Its absolute path on the node."""
    mode: int
    """Its permission bits on the node (0o755 for a program)."""

    @property
    def mirror_path(self) -> str:
        """``DIRECTORY/RELEASE/NAME``: the file under the mirror's root and ``/assets``."""
        return f"{self.directory}/{self.release}/{self.name}"


def directory_for(distribution: str) -> str:
    """The mirror directory of ``distribution`` (``kubeadm`` -> ``kubernetes``)."""
    try:
        return DIRECTORIES[distribution]
    except KeyError:
        raise ValueError(f"no Kubernetes artifacts for distribution {distribution!r}") from None


def mirror_release(distribution: str, version: str) -> str:
    """The release tag the mirror files ``version`` under: ``1.31.2`` -> ``v1.31.2``,
    ``1.31.2+k3s1`` -> ``v1.31.2+k3s1``. Raises VersionError for a version Strata does
    not support (the same refusal ``strata validate`` gives)."""
    if directory_for(distribution) == "k3s":
        return k3s_release(version).tag
    parsed = kubernetes_version(version)
    kubeadm_api(parsed)  # refuses an unsupported version
    return parsed.tag


def kube_artifacts(os_name: str, distribution: str, version: str) -> tuple[KubeArtifact, ...]:
    """The files a node of OS ``os_name`` in a layer of ``distribution`` ``version``
    downloads from the mirror. Flatcar: the sysext image, under ``/opt/extensions/NAME/``
    (Flatcar's recipe; ``strata.ignition.kube`` links it into ``/etc/extensions``).
    FCOS/RHCOS: the programs, into ``/usr/local/bin`` (``/usr`` is read-only there)."""
    directory, release = directory_for(distribution), mirror_release(distribution, version)

    def artifact(name: str, target: str, mode: int) -> KubeArtifact:
        return KubeArtifact(directory, release, name, target, mode)

    if os_name in _SYSEXT_OS:
        image = f"{directory}-{release}-{ARCH}.raw"
        found = [artifact(image, f"/opt/extensions/{directory}/{image}", 0o644)]
    else:
        programs = ("kubeadm", "kubelet", "kubectl") if directory == "kubernetes" else ("k3s",)
        found = [artifact(p, f"/usr/local/bin/{p}", 0o755) for p in programs]
    if directory == "k3s":
        images = f"/var/lib/rancher/k3s/agent/images/{_K3S_IMAGES}"
        found.append(artifact(_K3S_IMAGES, images, 0o644))
    return tuple(found)
