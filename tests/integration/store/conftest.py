"""The two store backends the contract suite runs on, unchanged: the embedded SQLite
store (a file per test) and the Kubernetes store on one real kube-apiserver + etcd for
this package's tests, stopped after its last (``tests/support/kube_api.py``), the
Server CRD applied once, a topology name of its own per test so no two tests share
state.

``open_store()`` opens one more store on the same state (another process's view: its
own connection or client), for tests of concurrent writers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from strata.store import KubeStore, SQLiteStore, Store, server_crd
from strata.store.kube_api import client_from_kubeconfig
from tests.support.kube_api import ControlPlane, control_plane, wait_for

NAMESPACE = "strata-contract"
SEGMENT = 7  # small log segments, so a few dozen entries cross several boundaries
_names = itertools.count()

OpenStore = Callable[[], Store]


@pytest.fixture(scope="package")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("kube-store")) as running:
        _planes.append(running)
        yield running
        _planes.clear()


@pytest.fixture(scope="package")
def crd_applied(plane: ControlPlane) -> ControlPlane:
    """The Server CRD created and Established, and the tests' namespace."""
    with plane.client() as api:
        made = api.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=server_crd()
        )
        assert made.status_code == 201, made.text
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        assert api.post("/api/v1/namespaces", json=namespace).status_code == 201

        def established() -> bool | None:
            crd = api.get(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servers.strata.dev"
            )
            conditions = crd.json().get("status", {}).get("conditions") or []
            ok = any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
            return True if ok else None

        wait_for(established, 60, "the Server CRD to be established")
    return plane


def kube_store(plane: ControlPlane, topology: str) -> KubeStore:
    """Its client made from a kubeconfig, as ``strata controller`` makes it."""
    client = client_from_kubeconfig(plane.admin_kubeconfig())
    return KubeStore(client, NAMESPACE, topology, segment_size=SEGMENT)


@pytest.fixture(params=["sqlite", "kubernetes"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    opened: list[SQLiteStore | KubeStore] = []
    if backend == "sqlite":

        def make() -> Store:
            opened.append(SQLiteStore(tmp_path / "state.db"))
            return opened[-1]

    else:
        plane: ControlPlane = request.getfixturevalue("crd_applied")
        topology = f"t{next(_names)}"

        def make() -> Store:
            opened.append(kube_store(plane, topology))
            return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> Store:
    return open_store()


_planes: list[ControlPlane] = []  # the package's, once started (for failure reports)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    """A failing test on the Kubernetes backend carries the control plane's log tails."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    on_kube = "kubernetes]" in item.nodeid or "crd_applied" in getattr(item, "fixturenames", ())
    if report.failed and on_kube and _planes:
        report.sections.append(("kube control plane logs", _planes[0].logs()))
