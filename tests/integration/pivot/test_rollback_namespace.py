"""A rollback and the namespace the move made (docs/pivot.md, "Failures and how to
recover"): deleting a namespace deletes everything in it, so it is deleted only when
it holds nothing but what the move made. Here another party put objects of its own in
it while the move ran — without Strata's labels, of kinds Strata never makes; or
labelled for the topology (an agent watching it), which the label alone does not make
the move's: they are kept with the namespace, every object of the move's is deleted,
and the report says what was kept and why."""

from __future__ import annotations

from pathlib import Path

from strata.pivot import failpoints
from tests.integration.pivot.conftest import TOPOLOGY, provisioned_state
from tests.integration.pivot.test_rollback_leftovers import failed_move
from tests.support.kube_api import ControlPlane, wait_for


def _ours(plane: ControlPlane, namespace: str) -> dict[str, list[str]]:
    """The names of what the move writes that are still in ``namespace``."""
    found = {}
    with plane.client() as api:
        for path in (
            "/api/v1/namespaces/{ns}/configmaps",
            "/api/v1/namespaces/{ns}/secrets",
            "/api/v1/namespaces/{ns}/serviceaccounts",
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            "/apis/apps/v1/namespaces/{ns}/deployments",
            "/apis/apps/v1/namespaces/{ns}/replicasets",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
            "/apis/strata.dev/v1alpha1/namespaces/{ns}/servers",
        ):
            answer = api.get(path.format(ns=namespace))
            listed = answer.json() if answer.status_code == 200 else {}  # a CRD deleted: none
            names = [
                i["metadata"]["name"]
                for i in listed.get("items", [])
                if i["metadata"]["name"] not in ("default", "kube-root-ca.crt", "their-settings")
                and not i["metadata"]["name"].startswith(("default-token-", "deployer", "their-"))
            ]
            found[path.rsplit("/", 1)[1]] = names
    return found


def test_a_rollback_keeps_the_namespace_when_another_party_put_objects_in_it(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 3)

    def someone_else_uses_the_namespace() -> None:
        with plane.client() as api:
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"mine": "yes"}}
            cm["metadata"] = {"name": "their-settings"}
            made = api.post(f"/api/v1/namespaces/{namespace}/configmaps", json=cm)
            assert made.status_code == 201, made.text
            account = {"apiVersion": "v1", "kind": "ServiceAccount"}
            account["metadata"] = {"name": "deployer"}
            made = api.post(f"/api/v1/namespaces/{namespace}/serviceaccounts", json=account)
            assert made.status_code == 201, made.text
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = someone_else_uses_the_namespace
    lines = failed_move(state, plane, namespace, "verify would fail")
    with plane.client() as api:
        found = api.get(f"/api/v1/namespaces/{namespace}").json()
        assert found["status"]["phase"] == "Active", found
        theirs = api.get(f"/api/v1/namespaces/{namespace}/configmaps/their-settings").json()
        assert theirs["data"] == {"mine": "yes"}
        assert api.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/deployer").is_success
    assert all(not names for names in _ours(plane, namespace).values()), _ours(plane, namespace)
    said = [x for x in lines if f"namespace {namespace} kept" in x]
    assert len(said) == 1, lines
    assert "ConfigMap their-settings" in said[0] and "ServiceAccount deployer" in said[0]
    assert "which deleting it would delete" in said[0]


def test_an_object_labelled_for_the_topology_that_the_move_did_not_make_keeps_it(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 3)
    labels = {"strata.dev/topology": TOPOLOGY, "app": "their-agent"}
    pod = {"containers": [{"name": "agent", "image": "busybox"}]}
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": "their-agent"}}}
    spec["template"] = {"metadata": {"labels": {"app": "their-agent"}}, "spec": pod}
    agent = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec}
    agent["metadata"] = {"name": "their-agent", "labels": labels}

    def someone_watches_the_topology() -> None:
        with plane.client() as api:
            made = api.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json=agent)
            assert made.status_code == 201, made.text
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = someone_watches_the_topology
    try:
        lines = failed_move(state, plane, namespace, "verify would fail")
    finally:
        failpoints.ACTIONS.clear()
    with plane.client() as api:
        found = api.get(f"/api/v1/namespaces/{namespace}").json()
        assert found["status"]["phase"] == "Active", found
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments/their-agent"
        assert api.get(path).is_success

    def none_of_ours() -> bool | None:
        """A ReplicaSet the cluster made of the deleted Deployment after the rollback read
        the namespace is the garbage collector's to delete: awaited."""
        return all(not names for names in _ours(plane, namespace).values()) or None

    wait_for(none_of_ours, 60, "the move's objects deleted")
    said = [x for x in lines if f"namespace {namespace} kept" in x]
    assert len(said) == 1 and "Deployment their-agent" in said[0], lines


def test_a_namespace_deleted_during_the_move_is_the_reason_said(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 3)

    def someone_deletes_the_namespace() -> None:
        with plane.client() as api:
            assert api.delete(f"/api/v1/namespaces/{namespace}").is_success

    failpoints.ACTIONS["after:copy"] = someone_deletes_the_namespace
    try:
        lines = failed_move(state, plane, namespace, "deleted during the move")
    finally:
        failpoints.ACTIONS.clear()
    said = [x for x in lines if x.startswith("rollback: failed: KubeStoreError")]
    assert len(said) == 1, lines
    assert f"(namespace {namespace} is being terminated: it was deleted during the move)" in said[
        0
    ] or (f"(namespace {namespace} does not exist: it was deleted during the move)" in said[0]), (
        said
    )
    assert any("unfrozen, in charge as before" in x for x in lines), lines
