"""`strata controller --web-listen` on a real API server: each Topology's face at
/topologies/NAME/, the cluster's own auth deciding (TokenReview, SubjectAccessReview
through the controller's least-privilege account plus deploy/components/web-face's
binding to system:auth-delegator). People are ServiceAccounts with tokens from the
TokenRequest API and the Roles a namespace admin would give them."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import yaml

from tests.integration.operator_run.conftest import ROOT
from tests.support.boot_server import free_port
from tests.support.kube_api import wait_for

COMPONENT = ROOT / "deploy" / "components" / "web-face"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def test_the_face_of_a_topology_under_the_clusters_own_auth(make_run: Any) -> None:
    run = make_run(1)
    (server,) = run.systems
    controller = run.least_privilege()
    _delegate(run)
    viewer = _person(run, "viewer", ["get"])
    operator = _person(run, "operator", ["get", "list", "update"])
    web = free_port()
    run.start("--web-listen", f"127.0.0.1:{web}", kubeconfig=controller)
    run.create(run.document([server], "lab"))
    run.wait_condition("lab", "Ready", "True", 1)
    face = httpx.Client(base_url=f"http://127.0.0.1:{web}", timeout=30)
    summary = "/topologies/lab/api/v1/summary"
    wait_for(lambda: _shown(face, summary, viewer), 60, "the face of lab")

    assert face.get(summary).status_code == 401  # no token: none from the loopback either
    assert face.get(summary, headers=_bearer("not-a-token")).status_code == 401
    seen = face.get(summary, headers=_bearer(viewer))
    assert seen.status_code == 200 and seen.json()["states"] == {"provisioned": 1}
    assert seen.json()["cluster"] == {"namespace": run.namespace}
    refused = face.put(f"/topologies/lab/api/v1/servers/{server.name}/maintenance",
                       headers=_bearer(viewer))  # fmt: skip
    assert refused.status_code == 403
    who = f"system:serviceaccount:{run.namespace}:viewer"
    assert (
        refused.json()["detail"]
        == f"{who} may not update topologies.strata.dev lab in {run.namespace}"
    )
    assert face.get("/api/v1/topologies", headers=_bearer(viewer)).status_code == 403
    listed = face.get("/api/v1/topologies", headers=_bearer(operator)).json()
    assert listed == {"items": [{"name": "lab", "url": "/topologies/lab/"}]}

    # the run's metrics, wired as in apply: the fleet, BMC calls, the loop's lag
    metrics = face.get("/topologies/lab/metrics", headers=_bearer(viewer)).text
    assert 'strata_servers{layer="mgmt",state="provisioned"} 1.0' in metrics
    assert re.search(r'strata_bmc_calls_total\{operation="power on",result="ok"\} [1-9]', metrics)
    assert 'strata_reconciler_loop_lag_seconds_count{source="event"}' in metrics
    assert "strata_boot_requests_total{" in metrics

    # an action, as `strata maintenance on|off` does: through the controller's log
    path = f"/topologies/lab/api/v1/servers/{server.name}/maintenance"
    done = face.put(path, headers=_bearer(operator), json={"reason": "new PSU"})
    assert done.status_code == 200, done.text
    assert done.json()["controller"] == "strata controller replica-a"
    wait_for(lambda: _states(run) == {"maintenance": 1} or None, 60, "in maintenance")
    assert face.delete(path, headers=_bearer(operator)).status_code == 200
    wait_for(lambda: _states(run) == {"provisioned": 1} or None, 60, "back, provisioned")
    assert run.machines.by_name(server.name).power_ons == 1
    page = face.get("/topologies/lab/")
    assert page.status_code == 200 and "static/app.js" in page.text  # no data: open
    for answer in (seen.text, metrics, listed.__repr__()):
        assert viewer not in answer and operator not in answer

    # the object deleted: its face goes (and stays gone: no run shows it again)
    with run.api() as api:
        gone = api.delete(f"/apis/strata.dev/v1alpha1/namespaces/{run.namespace}/topologies/lab")
        assert gone.status_code == 200, gone.text
    wait_for(lambda: face.get(summary, headers=_bearer(viewer)).status_code == 404 or None, 30,
             "the face gone")  # fmt: skip
    time.sleep(2)  # four resyncs
    assert face.get(summary, headers=_bearer(viewer)).status_code == 404
    assert face.get("/api/v1/topologies", headers=_bearer(operator)).json() == {"items": []}


def _shown(face: httpx.Client, path: str, token: str) -> bool | None:
    return True if face.get(path, headers=_bearer(token)).status_code == 200 else None


def _states(run: Any) -> dict[str, int] | None:
    return run.get("lab").get("status", {}).get("states")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _delegate(run: Any) -> None:
    """deploy/components/web-face's ClusterRoleBinding, for this namespace's account."""
    binding = yaml.safe_load((COMPONENT / "auth-delegator.yaml").read_text())
    binding["metadata"]["name"] += f"-{run.namespace}"
    for subject in binding["subjects"]:
        subject["namespace"] = run.namespace
    with run.api() as api:
        made = api.post(f"{RBAC}/clusterrolebindings", json=binding)
        assert made.status_code == 201, made.text


def _person(run: Any, name: str, verbs: list[str]) -> str:
    """A ServiceAccount ``name`` allowed ``verbs`` on topologies in the namespace, and a
    token of its (the TokenRequest API, as `kubectl create token` asks)."""
    ns = run.namespace
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name},
        "rules": [{"apiGroups": ["strata.dev"], "resources": ["topologies"], "verbs": verbs}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
    }
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"expirationSeconds": 3600}}  # fmt: skip
    with run.api() as api:
        for path, body in (
            (f"/api/v1/namespaces/{ns}/serviceaccounts", account),
            (f"{RBAC}/namespaces/{ns}/roles", role),
            (f"{RBAC}/namespaces/{ns}/rolebindings", binding),
        ):
            made = api.post(path, json=body)
            assert made.status_code == 201, made.text
        token = api.post(f"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token", json=request)
        assert token.status_code == 201, token.text
        return str(token.json()["status"]["token"])
