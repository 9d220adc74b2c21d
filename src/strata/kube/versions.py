"""Which Kubernetes distributions and versions Strata builds clusters of, and which
kubeadm configuration API each version reads.

kubeadm: ``kubeadm.k8s.io/v1beta4`` from Kubernetes 1.31 (its first release there),
``v1beta3`` from 1.22 (its first release) to 1.30. kubeadm before 1.22 reads only
``v1beta2``, whose layout Strata does not write, so 1.21 and older are refused.
(https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/ ,
https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/ ; the Go types:
kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta{3,4}/types.go.)

Spelling in topology.yaml (``layers[].distribution.version``):

- kubeadm: ``MAJOR.MINOR.PATCH``, e.g. ``"1.31.2"``; a leading ``v`` is accepted
  (kubeadm's own spelling) and dropped.
- k3s: the k3s release, ``MAJOR.MINOR.PATCH+k3sN``, e.g. ``"1.31.2+k3s1"`` (or
  ``v1.31.2+k3s1`` as k3s tags it). The ``+k3sN`` suffix is required: k3s ships
  several releases of one Kubernetes patch (``+k3s1``, ``+k3s2``) and the artifact
  mirror needs to know which (https://github.com/k3s-io/k3s/releases).

k3s minors: the same floor, 1.22, for one reason and one convenience. The reason: every
``/etc/rancher/k3s/config.yaml`` key Strata writes (``cluster-init``, ``server``,
``token``, ``tls-san``, ``node-name``, ``node-label``, ``cluster-cidr``,
``service-cidr``, ``kubelet-arg``) and the config file itself exist in every k3s
release since embedded etcd went GA (v1.19.5+k3s1), so nothing in the file dictates a
later minor. The convenience: a management layer and the layers it provisions share
one supported range, whatever their distribution. There is no upper bound: a newer
Kubernetes still reads v1beta4 (it is not deprecated) and k3s's config keys are stable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from strata.errors import StrataError

__all__ = [
    "DISTRIBUTIONS",
    "K3sRelease",
    "KubeVersion",
    "VersionError",
    "k3s_release",
    "kubeadm_api",
    "kubernetes_version",
    "supported_version",
]

DISTRIBUTIONS = ("kubeadm", "k3s")
_VERSION = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_K3S = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\+k3s([1-9][0-9]*)$")


class VersionError(StrataError, ValueError):
    """A version Strata cannot build a cluster of; ``message`` names it and says why."""

    kind = "unsupported-version"
    exit_code = 2

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True, slots=True, order=True)
class KubeVersion:
    """A Kubernetes release: ``1.31.2`` is ``KubeVersion(1, 31, 2)``."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def tag(self) -> str:
        """As Kubernetes tags releases and kubeadm's ``kubernetesVersion`` spells it."""
        return f"v{self}"


@dataclass(frozen=True, slots=True)
class K3sRelease:
    """A k3s release: ``v1.31.2+k3s1`` is Kubernetes 1.31.2, k3s build 1."""

    kubernetes: KubeVersion
    build: int

    def __str__(self) -> str:
        return f"{self.kubernetes}+k3s{self.build}"

    @property
    def tag(self) -> str:
        """The k3s release tag, as INSTALL_K3S_VERSION and the release assets name it."""
        return f"v{self}"


@dataclass(frozen=True, slots=True)
class _ApiSince:
    """Kubernetes from ``since`` on (until the next row) read kubeadm config ``api``."""

    since: KubeVersion
    api: str


# Newest first. Sources: the module docstring.
_KUBEADM_APIS = (
    _ApiSince(KubeVersion(1, 31, 0), "kubeadm.k8s.io/v1beta4"),
    _ApiSince(KubeVersion(1, 22, 0), "kubeadm.k8s.io/v1beta3"),
)
FLOOR = _KUBEADM_APIS[-1].since
_RANGE = f">= {FLOOR.major}.{FLOOR.minor}"
_WHY_FLOOR = (
    f"kubeadm before {FLOOR.major}.{FLOOR.minor} reads only the v1beta2 config API, "
    "which Strata does not write"
)


def kubernetes_version(text: str) -> KubeVersion:
    """``"1.31.2"`` or ``"v1.31.2"`` -> KubeVersion. Raises VersionError if it is not
    MAJOR.MINOR.PATCH (a k3s release, ``1.31.2+k3s1``, is refused here: see k3s_release)."""
    found = _VERSION.match(text)
    if found is None:
        hint = 'a kubeadm layer names a Kubernetes release, e.g. "1.31.2"'
        if "+k3s" in text:
            hint = "a +k3sN suffix names a k3s release: use distribution k3s, or drop it"
        raise VersionError(f"'{text}' is not a Kubernetes version (MAJOR.MINOR.PATCH)", hint)
    major, minor, patch = (int(g) for g in found.groups())
    return KubeVersion(major, minor, patch)


def k3s_release(text: str) -> K3sRelease:
    """``"1.31.2+k3s1"`` or ``"v1.31.2+k3s1"`` -> K3sRelease. Raises VersionError if the
    ``+k3sN`` build is missing or the rest is not MAJOR.MINOR.PATCH."""
    found = _K3S.match(text)
    if found is None:
        hint = 'name the k3s release, e.g. "1.31.2+k3s1" (github.com/k3s-io/k3s/releases)'
        if _VERSION.match(text):
            hint = f'k3s ships several builds of one Kubernetes patch: say which, e.g. "{text.lstrip("v")}+k3s1"'
        raise VersionError(f"'{text}' is not a k3s release (MAJOR.MINOR.PATCH+k3sN)", hint)
    major, minor, patch, build = (int(g) for g in found.groups())
    return K3sRelease(KubeVersion(major, minor, patch), build)


def kubeadm_api(version: KubeVersion) -> str:
    """The kubeadm config ``apiVersion`` kubeadm ``version`` reads, e.g.
    ``"kubeadm.k8s.io/v1beta4"``. Raises VersionError outside the supported range."""
    _supported(version, "kubeadm")
    return next(row.api for row in _KUBEADM_APIS if version >= row.since)


def supported_version(distribution: str, text: str) -> KubeVersion:
    """The Kubernetes version of ``text`` as a layer of ``distribution`` spells it
    (kubeadm: ``1.31.2``; k3s: ``1.31.2+k3s1``), if Strata supports it. Raises
    VersionError naming the version, the supported range and why."""
    parse = _PARSERS.get(distribution)
    if parse is None:
        raise VersionError(
            f"unknown distribution '{distribution}'", f"one of: {', '.join(DISTRIBUTIONS)}"
        )
    version = parse(text)
    _supported(version, distribution)
    return version


# How each distribution spells its version in topology.yaml.
_PARSERS: dict[str, Callable[[str], KubeVersion]] = {
    "kubeadm": kubernetes_version,
    "k3s": lambda text: k3s_release(text).kubernetes,
}


def _supported(version: KubeVersion, distribution: str) -> None:
    if version.major != 1:
        raise VersionError(
            f"{distribution} {version}: Strata supports Kubernetes 1.x ({_RANGE})",
            "no Kubernetes 2 exists that Strata knows how to configure",
        )
    if version < FLOOR:
        why = _WHY_FLOOR if distribution == "kubeadm" else "one range for every layer"
        raise VersionError(
            f"{distribution} {version} is not supported: Strata supports Kubernetes "
            f"{_RANGE} ({why})",
            f"choose {FLOOR.major}.{FLOOR.minor} or later; "
            f"{_KUBEADM_APIS[0].since.major}.{_KUBEADM_APIS[0].since.minor}+ reads "
            "kubeadm's current config API (v1beta4)",
        )
