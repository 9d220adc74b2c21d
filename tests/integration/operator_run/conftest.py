"""`strata controller` as a subprocess against a real API server (etcd +
kube-apiserver, ``tests/support/kube_api.py``) with Strata's CRDs installed, and
sushy-tools' emulated BMCs with simulated machines behind them (the session's
``emulator``, ``tests/support/machine_sim.py``) booting against the boot service the
controller runs."""

from __future__ import annotations

import datetime
import functools
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.pki import issue_client_cert
from strata.lab.image import stand_ins_for
from strata.plan import build_plan
from strata.topology import load
from tests.support.boot_server import RunningServer, free_port
from tests.support.fleet_topology import PASSWORD_ENV, fleet_yaml
from tests.support.kube_api import ControlPlane, control_plane, wait_for
from tests.support.machine_sim import MachineSimulator
from tests.support.redfish_emulator import Emulator, FakeSystem

ROOT = Path(__file__).resolve().parents[3]
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TOPOLOGIES = "/apis/strata.dev/v1alpha1/namespaces/{ns}/topologies"


def _crds() -> list[dict[str, Any]]:
    from strata.operator.crds import all_crds

    return all_crds()


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with control_plane(tmp_path_factory.mktemp("kube")) as running:
        with running.client() as api:
            for crd in _crds():
                answer = api.post(CRDS, json=crd)
                assert answer.status_code == 201, answer.text
            for crd in _crds():
                name = crd["metadata"]["name"]
                wait_for(functools.partial(_established, api, name), 60, f"CRD {name}")
        yield running


def _established(api: httpx.Client, name: str) -> bool | None:
    got = api.get(f"{CRDS}/{name}").json()
    ok = any(
        c["type"] == "Established" and c["status"] == "True"
        for c in (got.get("status") or {}).get("conditions") or []
    )
    return True if ok else None


@dataclass
class Run:
    """One controller process, its namespace, fleet and boot service port."""

    plane: ControlPlane
    namespace: str
    directory: Path
    systems: list[FakeSystem]
    machines: MachineSimulator
    port: int
    bmc_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)  # BMC calls seen

    def api(self) -> httpx.Client:
        return self.plane.client()

    def document(self, systems: list[FakeSystem], name: str, **kw: Any) -> dict[str, Any]:
        return dict(yaml.safe_load(fleet_yaml(self.bmc_url, systems, name=name, **kw)))

    def create(self, document: dict[str, Any], consent: dict[str, Any] | None = None) -> None:
        with self.api() as api:
            answer = api.post(TOPOLOGIES.format(ns=self.namespace), json=_object(document, consent))
            assert answer.status_code == 201, answer.text

    def replace(self, document: dict[str, Any], consent: dict[str, Any] | None = None) -> None:
        """Replace the object's spec, read-modify-write as kubectl does: a 409 (the
        controller wrote the status between the read and the write) reads again."""
        name = document["metadata"]["name"]
        with self.api() as api:
            path = f"{TOPOLOGIES.format(ns=self.namespace)}/{name}"
            for _ in range(10):
                current = api.get(path).json()
                body = _object(document, consent)
                body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                answer = api.put(path, json=body)
                if answer.status_code != 409:
                    break
            assert answer.status_code == 200, answer.text

    def get(self, name: str) -> dict[str, Any]:
        with self.api() as api:
            answer = api.get(f"{TOPOLOGIES.format(ns=self.namespace)}/{name}")
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        obj = self.get(name)
        conditions = obj.get("status", {}).get("conditions", [])
        found = [c for c in conditions if c["type"] == kind]
        return found[0] if found else None

    def wait_condition(
        self, name: str, kind: str, status: str, generation: int, timeout: float = 120
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            self.check_alive()
            c = self.condition(name, kind)
            ok = c and c["status"] == status and c.get("observedGeneration") == generation
            return c if ok else None

        return wait_for(check, timeout, f"{name}: {kind}={status} at generation {generation}")

    def servers(self) -> list[dict[str, Any]]:
        with self.api() as api:
            got = api.get(f"/apis/strata.dev/v1alpha1/namespaces/{self.namespace}/servers")
            assert got.status_code == 200, got.text
            return list(got.json()["items"])

    def events(self, name: str) -> list[dict[str, Any]]:
        with self.api() as api:
            got = api.get(f"/api/v1/namespaces/{self.namespace}/events").json()
        return [e for e in got["items"] if e["involvedObject"]["name"] == name]

    def least_privilege(self) -> Path:
        """A kubeconfig for the ServiceAccount of deploy/rbac.yaml, its Role and
        RoleBinding made in this namespace: the controller with the rights it ships with
        (a client certificate named as the account: RBAC reads the user name)."""
        docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()) if d]
        with self.api() as api:
            for doc in docs:
                if doc["kind"] not in ("Role", "RoleBinding"):
                    continue
                doc["metadata"]["namespace"] = self.namespace
                for subject in doc.get("subjects", []):
                    subject["namespace"] = self.namespace
                kind = "roles" if doc["kind"] == "Role" else "rolebindings"
                path = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{self.namespace}/{kind}"
                answer = api.post(path, json=doc)
                assert answer.status_code == 201, answer.text
        user = f"system:serviceaccount:{self.namespace}:strata-controller"
        ca = self.plane.pki.ca
        now = datetime.datetime.now(datetime.UTC)
        cert = issue_client_cert(ca, user, ["system:serviceaccounts"], now=now)
        config = self.directory / "controller.kubeconfig"
        config.write_text(
            admin_kubeconfig(self.plane.url, ca.cert_pem, cert.cert_pem, cert.key_pem)
        )
        config.chmod(0o600)
        return config

    def start(
        self, *args: str, identity: str = "replica-a", kubeconfig: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """A controller process named ``identity``; returns once its /readyz answers."""
        health = free_port()
        kubeconfig = kubeconfig or self.plane.admin_kubeconfig()
        command = [
            str(Path(sys.executable).parent / "strata"), "controller",
            "--kubeconfig", str(kubeconfig),
            "--namespace", self.namespace,
            "--identity", identity,
            "--listen", f"127.0.0.1:{self.port}",
            "--url", f"http://127.0.0.1:{self.port}",
            "--artifacts", str(self.directory / "artifacts"),
            "--health-addr", f"127.0.0.1:{health}",
            "--until", "provisioned",
            "--resync", "0.5",
            *args,
        ]  # fmt: skip
        log = (self.directory / "controller.log").open("ab")
        process = subprocess.Popen(command, stdout=log, stderr=log, env=dict(os.environ))
        self.processes[identity] = process
        wait_for(lambda: self._ready(health), 60, f"{identity}'s /readyz")
        return process

    def _ready(self, port: int) -> bool | None:
        self.check_alive()
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        return True if answer.status_code == 200 else None

    def check_alive(self) -> None:
        for identity, process in self.processes.items():
            if identity not in self.killed and process.poll() is not None:
                pytest.fail(f"{identity} exited ({process.returncode}):\n{self.log()}")

    def kill(self, identity: str) -> None:
        self.killed.add(identity)
        self.processes[identity].kill()  # SIGKILL: no lease given back
        self.processes[identity].wait(10)

    def log(self) -> str:
        path = self.directory / "controller.log"
        return path.read_text()[-6000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _object(document: dict[str, Any], consent: dict[str, Any] | None) -> dict[str, Any]:
    spec = {k: v for k, v in document.items() if k not in ("apiVersion", "kind", "metadata")}
    if consent is not None:
        spec["consent"] = consent
    return {
        "apiVersion": "strata.dev/v1alpha1",
        "kind": "Topology",
        "metadata": {"name": document["metadata"]["name"]},
        "spec": spec,
    }


@pytest.fixture
def make_run(
    plane: ControlPlane,
    emulator: Emulator,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    monkeypatch.setenv(PASSWORD_ENV, password)
    made: list[Run] = []
    observers: list[Any] = []

    def make(count: int) -> Run:
        namespace = f"t-{uuid.uuid4().hex[:8]}"
        with plane.client() as api:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            assert api.post("/api/v1/namespaces", json=body).status_code == 201
        systems = emulator.take(count)
        port = free_port()
        file = tmp_path / "topology.yaml"
        file.write_text(fleet_yaml(emulator.url, systems))
        stand_ins_for(tmp_path / "artifacts", build_plan(load(file)).nodes)
        machines = MachineSimulator(emulator, systems, f"http://127.0.0.1:{port}")
        run = Run(plane, namespace, tmp_path, systems, machines, port, emulator.url)

        def seen(method: str, path: str, body: bytes) -> None:
            run.requests.append((method, path))

        emulator.app.observers.append(seen)
        observers.append(seen)
        made.append(run)
        return run

    yield make
    for run in made:
        run.stop()
        run.machines.close()
    for observer in observers:
        emulator.app.observers.remove(observer)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Any:
    """A failing test's report carries the controllers' log."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    log = Path(str(tmp_path)) / "controller.log"
    if report.failed and tmp_path is not None and log.exists():
        report.sections.append(("strata controller log", log.read_text()[-8000:]))


def provisioned(store: Any) -> int:
    """How many of the store's servers are provisioned."""
    return sum(s.state == "provisioned" for s in store.summaries())


def shard_holders(run: Run) -> dict[str, str]:
    """Shard Lease name -> the replica holding it ("" when given back)."""
    with run.api() as api:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{run.namespace}/leases"
        items = api.get(path).json()["items"]
    return {
        lease["metadata"]["name"]: lease["spec"].get("holderIdentity", "")
        for lease in items
        if lease["metadata"]["name"].startswith("strata-shard-")
    }


def boot_service_beside(
    run: Run, directory: Path, name: str, per_rack: int
) -> tuple[Any, RunningServer]:
    """The Kubernetes store of Topology ``name`` (every server of ``run``) and a boot
    service on it in this process, at the run's port — what a Service in front of
    replicas started with --no-serve gives machines."""
    from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
    from strata.store.kube_store import KubeStore

    file = directory / f"{name}.yaml"
    file.write_text(fleet_yaml(run.bmc_url, run.systems, name=name, per_rack=per_rack))
    store = KubeStore.from_kubeconfig(run.plane.admin_kubeconfig(), run.namespace, name)
    url = f"http://127.0.0.1:{run.port}"
    content = BootContent(build_plan(load(file)), url, TokenSigner(store.token_key()))
    service = BootService(content, store, AssetIndex(directory / "artifacts"))
    return store, RunningServer(service.app, run.port)
