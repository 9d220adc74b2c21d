"""One real control plane (etcd, kube-apiserver, kube-controller-manager) for the
package's tests, with Strata's CRDs installed and Established
(``tests/support/kube_api.py``). A failing test's report carries the control plane's
log tails."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from strata.operator.crds import topology_crd
from tests.support.kube_api import ControlPlane, control_plane, wait_for

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def install_crd(plane: ControlPlane, crd: dict[str, object]) -> None:
    """Creates ``crd`` and waits until the API server serves it (condition Established)."""
    name = crd["metadata"]["name"]  # type: ignore[index]
    with plane.client() as api:
        response = api.post(CRDS, json=crd)
        assert response.status_code in (201, 409), response.text

        def established() -> bool | None:
            status = api.get(f"{CRDS}/{name}").json().get("status", {})
            kinds = {c["type"]: c["status"] for c in status.get("conditions") or []}
            return True if kinds.get("Established") == "True" else None

        wait_for(established, 60, f"CRD {name} Established")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes minutes (the container image's build)")


@pytest.fixture(scope="package")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("kube")) as running:
        install_crd(running, topology_crd())
        yield running


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("plane")
    if report.failed and isinstance(running, ControlPlane):
        report.sections.append(("kube control plane logs", running.logs()))
