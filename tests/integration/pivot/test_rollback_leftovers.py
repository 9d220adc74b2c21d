"""What a rolled-back move leaves in a target namespace that existed before it (so the
rollback does not delete the namespace): nothing of the topology — in particular not
the boot service's token-signing key, a secret the move wrote there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.pivot import End, Options, Pivot, PivotFailed, failpoints
from tests.integration.pivot.conftest import TOPOLOGY, provisioned_state
from tests.support.kube_api import ControlPlane


@pytest.fixture(autouse=True)
def no_actions() -> Iterator[None]:
    yield
    failpoints.ACTIONS.clear()


def _secrets(plane: ControlPlane, namespace: str) -> list[str]:
    with plane.client() as api:
        path = f"/api/v1/namespaces/{namespace}/secrets"
        found = api.get(path, params={"labelSelector": f"strata.dev/topology={TOPOLOGY}"})
        return sorted(s["metadata"]["name"] for s in found.json()["items"])


def test_a_rollback_into_an_existing_namespace_leaves_no_token_key(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
    state = tmp_path / "strata.db"
    provisioned_state(state, 5)

    def broken() -> None:
        assert _secrets(plane, namespace)  # the copy wrote them
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = broken
    source = End.sqlite(state, TOPOLOGY)
    target = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    mover = Pivot(source, target, Options(say=lambda line: None))
    with pytest.raises(PivotFailed, match="verify would fail"):
        mover.run()
    mover.close()
    assert _secrets(plane, namespace) == []
