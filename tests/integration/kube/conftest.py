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
from strata.lab.kubeadm_init import cluster_info_objects, collection_path
from tests.support.kube_api import ControlPlane, control_plane


@pytest.fixture(scope="package")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("kube")) as running:
        print(f"control plane ready in {running.started_in:.1f} s at {running.url}")
        yield running


@pytest.fixture(scope="package")
def cluster_info(plane: ControlPlane) -> str:
    """Creates kube-public/cluster-info as kubeadm init does (phases/bootstraptoken/
    clusterinfo/clusterinfo.go); returns its kubeconfig."""
    with plane.client() as api:
        for manifest in cluster_info_objects(plane.url, plane.pki.ca.cert_pem):
            response = api.post(collection_path(manifest), json=manifest)
            assert response.status_code == 201, response.text
    return cluster_info_kubeconfig(plane.url, plane.pki.ca.cert_pem)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("plane")
    if report.failed and isinstance(running, ControlPlane):
        report.sections.append(("kube control plane logs", running.logs()))
