"""The install step against a real API server: a move from a state file puts into the
target everything its controller needs — ServiceAccount, Role, RoleBinding, the
ConfigMap of its settings, its Deployment started paused (replicas 0, the replicas to
come in strata.dev/replicas) — the BMC credentials FILE keeps on this machine as
Secrets (with --copy-credentials only), and the Topology object made from FILE. The
RBAC lets the controller's ServiceAccount make its calls and no more (kubectl auth
can-i). A rollback removes exactly what the move made and keeps what was there; a
credential that cannot be read, or no consent, blocks in preflight with nothing
written; a different object already there is a conflict; no password is printed."""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.operator import manifests
from strata.pivot import End, Options, Pivot, PivotFailed, failpoints
from strata.pivot.from_file import InstallOptions
from tests.integration.pivot.conftest import (
    TOPOLOGY,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
    snapshot,
)
from tests.support.kube_api import ControlPlane

ROOT = Path(__file__).resolve().parents[3]
ENV = "STRATA_LAB_BMC_PASSWORD"  # what examples/lab/topology.yaml's credentials name
PASSWORD = "pivot-install-s3cret-value"
SECRET = f"{TOPOLOGY}-bmc-lab-bmc"
NONE = ("--controller", "none")  # nothing started at resume: the Deployment stays paused


def _file(tmp_path: Path) -> Path:
    file = tmp_path / "topology.yaml"
    shutil.copy(ROOT / "examples/lab/topology.yaml", file)
    return file


def _get(plane: ControlPlane, path: str) -> dict[str, Any] | None:
    with plane.client() as api:
        got = api.get(path)
    assert got.status_code in (200, 404), got.text
    return got.json() if got.status_code == 200 else None


def _paths(namespace: str) -> dict[str, str]:
    objects = manifests.controller_objects(namespace)
    return {o["kind"]: manifests.object_path(o) for o in objects} | {
        "Secret": f"/api/v1/namespaces/{namespace}/secrets/{SECRET}",
        "Topology": f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies/{TOPOLOGY}",
    }


def _can(plane: ControlPlane, namespace: str, verb: str, resource: str) -> bool:
    """``kubectl auth can-i`` as the controller's ServiceAccount; ``resource`` as RBAC
    names it (``servers.strata.dev/status``: a subresource)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is missing (apt-get install kubernetes-client)")
    user = f"system:serviceaccount:{namespace}:{manifests.NAME}"
    name, _, sub = resource.partition("/")
    extra = ["--subresource", sub] if sub else []
    done = subprocess.run(
        [kubectl, "--kubeconfig", str(plane.admin_kubeconfig()), "auth", "can-i", verb, name,
         *extra, "-n", namespace, "--as", user],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.stdout.strip() in ("yes", "no"), done.stderr
    return done.stdout.strip() == "yes"


def test_a_move_installs_the_controller_paused_its_secrets_and_the_topology(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, file = tmp_path / "strata.db", _file(tmp_path)
    provisioned_state(state, 3)
    monkeypatch.setenv(ENV, PASSWORD)
    moved = pivot_to_cluster(state, plane, namespace, "-f", str(file), "--copy-credentials", *NONE)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert PASSWORD not in moved.stdout + moved.stderr
    assert base64.b64encode(PASSWORD.encode()).decode() not in moved.stdout + moved.stderr
    paths = _paths(namespace)
    found = {kind: _get(plane, path) for kind, path in paths.items()}
    assert all(found.values()), [k for k, v in found.items() if v is None]
    deployment = found["Deployment"]
    assert deployment is not None and deployment["spec"]["replicas"] == 0
    assert deployment["metadata"]["annotations"][manifests.REPLICAS_ANNOTATION] == "1"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == manifests.IMAGE
    assert (found["ConfigMap"] or {})["data"] == manifests.SETTINGS
    secret = found["Secret"] or {}
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    spec = (found["Topology"] or {})["spec"]
    document = yaml.safe_load(file.read_text())
    assert spec["credentials"] == [
        {"name": "lab-bmc", "username": "admin", "password": {"secret": {"name": SECRET, "key": "password"}}}
    ]  # fmt: skip
    rest = {k: v for k, v in document.items() if k not in ("apiVersion", "kind", "metadata")}
    assert {**spec, "credentials": None} == {**rest, "credentials": None}
    assert f"becomes Secret {namespace}/{SECRET}" in moved.stdout
    note = _get(plane, f"/api/v1/namespaces/{namespace}/configmaps/{TOPOLOGY}-notes") or {}
    created = json.loads(note["data"]["pivot"])["created"]
    assert sorted(created["objects"]) == sorted(paths.values())


def test_the_controllers_rbac_allows_its_calls_and_no_more(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the Role says, asked of the API server as the ServiceAccount (RBAC's
    SubjectAccessReview, through kubectl auth can-i)."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 2)
    moved = pivot_to_cluster(state, plane, namespace, *NONE)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "no Topology object is made in the target" in moved.stdout
    allowed = set()
    for rule in manifests.role(namespace)["rules"]:
        group = rule["apiGroups"][0]
        for resource in rule["resources"]:
            kind, _, sub = resource.partition("/")
            name = (f"{kind}.{group}" if group else kind) + (f"/{sub}" if sub else "")
            allowed |= {(verb, name) for verb in rule["verbs"]}
    assert len(allowed) == 25
    for verb, name in sorted(allowed):
        assert _can(plane, namespace, verb, name), (verb, name)
    for verb, name in [
        ("list", "secrets"), ("delete", "secrets"), ("watch", "secrets"), ("get", "nodes"),
        ("update", "topologies.strata.dev"), ("create", "deployments.apps"), ("create", "roles"),
        ("update", "topologies.strata.dev/status"), ("patch", "servers.strata.dev/status"),
    ]:  # fmt: skip
        assert not _can(plane, namespace, verb, name), (verb, name)
    assert not _can(plane, "default", "get", "servers.strata.dev")


def test_a_rollback_removes_what_the_move_made_and_keeps_what_was_there(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, file = tmp_path / "strata.db", _file(tmp_path)
    source = provisioned_state(state, 5)
    before = snapshot(source)
    monkeypatch.setenv(ENV, PASSWORD)
    account, config = manifests.service_account(namespace), manifests.config_map(namespace)
    config["data"]["STRATA_URL"] = "http://10.0.0.1:8080"  # someone's own setting: kept
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
        for obj in (account, config):
            made = api.post(manifests.object_path(obj, collection=True), json=obj)
            assert made.status_code == 201, made.text

    def verify_fails() -> None:
        raise RuntimeError("verify's stand-in failure")

    failpoints.ACTIONS["after:copy"] = verify_fails
    lines: list[str] = []
    options = Options(say=lines.append, install=InstallOptions(file, "copy"))
    mover = Pivot(End.sqlite(state, TOPOLOGY), End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY), options)  # fmt: skip
    with pytest.raises(PivotFailed, match="verify's stand-in failure"):
        mover.run()
    mover.close()
    assert any(
        "install: 5 objects created" in line and "2 found there and kept" in line for line in lines
    )
    paths = _paths(namespace)
    left = {kind for kind, path in paths.items() if _get(plane, path) is not None}
    assert left == {"ServiceAccount", "ConfigMap"}
    assert (_get(plane, paths["ConfigMap"]) or {})["data"]["STRATA_URL"] == "http://10.0.0.1:8080"
    assert _get(plane, f"/api/v1/namespaces/{namespace}") is not None  # it was there before
    assert PASSWORD not in "\n".join(lines)
    after = snapshot(source)
    assert after["inventory"] == before["inventory"] and after["writer"] is None


@pytest.mark.parametrize("missing", ["env", "file"])
def test_a_credential_that_cannot_be_read_blocks_with_nothing_written(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    missing: str,
) -> None:  # fmt: skip
    state, file = tmp_path / "strata.db", _file(tmp_path)
    before = snapshot(provisioned_state(state, 3))
    monkeypatch.delenv(ENV, raising=False)
    if missing == "file":
        text = file.read_text().replace(f"{{env: {ENV}}}", "{file: secrets/bmc-password}")
        file.write_text(text)
    refused = pivot_to_cluster(state, plane, namespace, "-f", str(file), "--copy-credentials")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    looked = (
        "environment variable STRATA_LAB_BMC_PASSWORD"
        if missing == "env"
        else "secrets/bmc-password"
    )
    assert "credentials lab-bmc" in said and looked in said, said
    assert _get(plane, f"/api/v1/namespaces/{namespace}") is None
    assert snapshot(provisioned_state_store(state)) == before


def provisioned_state_store(state: Path) -> Any:
    from strata.store import SQLiteStore

    return SQLiteStore(state)


def test_without_consent_it_blocks_and_leave_moves_without_secrets(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, file = tmp_path / "strata.db", _file(tmp_path)
    provisioned_state(state, 3)
    monkeypatch.setenv(ENV, PASSWORD)
    refused = pivot_to_cluster(state, plane, namespace, "-f", str(file), *NONE)
    assert refused.returncode == 1
    assert "--copy-credentials makes each a Secret" in refused.stdout, refused.stdout
    assert "will not be able to reach the BMCs" in refused.stdout
    assert _get(plane, f"/api/v1/namespaces/{namespace}") is None
    moved = pivot_to_cluster(state, plane, namespace, "-f", str(file), "--leave-credentials", *NONE)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert f"until Secret {namespace}/{SECRET} (key password) is made" in moved.stdout
    paths = _paths(namespace)
    assert _get(plane, paths["Secret"]) is None
    spec = (_get(plane, paths["Topology"]) or {})["spec"]
    assert spec["credentials"][0]["password"] == {"secret": {"name": SECRET, "key": "password"}}
    assert PASSWORD not in moved.stdout + moved.stderr + refused.stdout + refused.stderr


def test_a_different_deployment_there_is_a_conflict_refused_in_preflight(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 3)
    other = manifests.deployment(namespace, image="registry.example/strata:0.1")
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
        made = api.post(manifests.object_path(other, collection=True), json=other)
        assert made.status_code == 201, made.text
    refused = pivot_to_cluster(state, plane, namespace, *NONE)
    assert refused.returncode == 1
    assert f"Deployment {namespace}/strata-controller is there and differs" in refused.stdout
    assert ".spec.template.spec.containers[0].image" in refused.stdout
    paths = _paths(namespace)
    assert _get(plane, paths["ServiceAccount"]) is None and _get(plane, paths["Role"]) is None
    deployment = _get(plane, paths["Deployment"]) or {}
    assert deployment["spec"]["replicas"] == 1  # not touched


OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {namespace}
resources: [rbac.yaml, deployment.yaml]
configMapGenerator:
  - name: strata-controller
    literals: [{literals}]
"""


def test_a_controller_installed_from_deploy_is_found_equal_and_kept(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """deploy/'s objects applied with kubectl (kustomize, its ConfigMap named with a
    hash) are what the move would make: kept, none recorded but the plain ConfigMap."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is missing (apt-get install kubernetes-client)")
    state = tmp_path / "strata.db"
    provisioned_state(state, 2)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    literals = ", ".join(f"{k}={v}" for k, v in manifests.SETTINGS.items())
    for name in ("rbac.yaml", "deployment.yaml"):  # kustomize reads files below it only
        shutil.copy(ROOT / "deploy" / name, overlay / name)
    text = OVERLAY.format(namespace=namespace, literals=literals)
    (overlay / "kustomization.yaml").write_text(text)
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
    config = str(plane.admin_kubeconfig())
    done = subprocess.run(
        [kubectl, "--kubeconfig", config, "apply", "-k", str(overlay)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    moved = pivot_to_cluster(state, plane, namespace, *NONE)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    for kind in ("ServiceAccount", "Role", "RoleBinding", "Deployment"):
        assert f"{kind} {namespace}/strata-controller is there as this move would make it" in (
            moved.stdout
        )
    note = _get(plane, f"/api/v1/namespaces/{namespace}/configmaps/{TOPOLOGY}-notes") or {}
    created = json.loads(note["data"]["pivot"])["created"]
    assert created["objects"] == [_paths(namespace)["ConfigMap"]]
    deployment = _get(plane, _paths(namespace)["Deployment"]) or {}
    assert deployment["spec"]["replicas"] == 1  # kept as it was: not paused, not touched


@pytest.mark.parametrize("point", ["install:recorded", "install:one-made", "after:install"])
def test_a_crash_in_the_install_then_a_rerun_or_an_abort(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    point: str,
) -> None:  # fmt: skip
    """SIGKILLed between recording the objects and making them, after the first, after
    all: the same command again makes the rest (each once, all recorded); --abort then
    removes every one (even those recorded and never made)."""
    state, file = tmp_path / "strata.db", _file(tmp_path)
    provisioned_state(state, 3)
    monkeypatch.setenv(ENV, PASSWORD)
    args = ("-f", str(file), "--copy-credentials", *NONE)
    killed = pivot_to_cluster(state, plane, namespace, *args, failpoint=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    paths = _paths(namespace)
    note = json.loads(provisioned_state_store(state).note("pivot") or "{}")
    assert sorted(note["created"]["objects"]) == sorted(paths.values())  # before any is made
    made = {k for k, p in paths.items() if _get(plane, p) is not None}
    assert made == {"recorded": set(), "one-made": {"ServiceAccount"}}.get(
        point.split(":")[1], set(paths)
    )
    if point == "install:one-made":
        aborted = run_pivot("--state", str(state), "--abort")
        assert aborted.returncode == 0, aborted.stdout + aborted.stderr
        assert all(_get(plane, p) is None for p in paths.values())
        return
    again = pivot_to_cluster(state, plane, namespace, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(_get(plane, p) is not None for p in paths.values())
    created = json.loads(provisioned_state_store(state).note("pivot") or "{}")["created"]
    assert sorted(created["objects"]) == sorted(paths.values())
    assert PASSWORD not in killed.stdout + killed.stderr + again.stdout + again.stderr
