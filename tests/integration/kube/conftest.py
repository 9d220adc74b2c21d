"""One real control plane (etcd, kube-apiserver, kube-controller-manager) for the
module's tests, built on Strata's PKI (``tests/support/kube_api.py``), and what
``kubeadm init`` leaves on the API for token discovery: the ``cluster-info``
ConfigMap and the Role letting anonymous clients read it.

Tests make their own tokens, so none depends on another or on their order. A failing
test's report carries the tails of the control plane's logs.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from strata.kube.kubeconfig import cluster_info_kubeconfig
from tests.support.kube_api import ControlPlane, control_plane

ROLE = "kubeadm:bootstrap-signer-clusterinfo"  # kubeadm's name for it


@pytest.fixture(scope="session")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("kube")) as running:
        print(f"control plane ready in {running.started_in:.1f} s at {running.url}")
        yield running


@pytest.fixture(scope="session")
def cluster_info(plane: ControlPlane) -> str:
    """Creates kube-public/cluster-info as kubeadm init does (phases/bootstraptoken/
    clusterinfo/clusterinfo.go); returns its kubeconfig."""
    kubeconfig = cluster_info_kubeconfig(plane.url, plane.pki.ca.cert_pem)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public"},
        "data": {"kubeconfig": kubeconfig},
    }
    role: dict[str, object] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": ROLE, "namespace": "kube-public"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": ["cluster-info"],
                "verbs": ["get"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": ROLE, "namespace": "kube-public"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": ROLE,
        },
        "subjects": [{"kind": "User", "name": "system:anonymous"}],
    }
    with plane.client() as api:
        for path, manifest in (
            ("/api/v1/namespaces/kube-public/configmaps", configmap),
            ("/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/roles", role),
            ("/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/rolebindings", binding),
        ):
            response = api.post(path, json=manifest)
            assert response.status_code == 201, response.text
    return kubeconfig


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("plane")
    if report.failed and isinstance(running, ControlPlane):
        report.sections.append(("kube control plane logs", running.logs()))
