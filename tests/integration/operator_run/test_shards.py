"""``Shards`` on a real API server, on a clock the test turns: a replica restarted
under the same identity holds its shards again at its first tick (its Leases name
it: nothing to wait for), gives back at once those beyond its share, and /readyz's
check says when the Leases go unrenewed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from strata.operator.resources import kube_client
from strata.operator.shards import Shards
from tests.support.kube_api import ControlPlane

COUNT, DURATION = 4, 3.0


@pytest.fixture
def namespace(plane: ControlPlane) -> Iterator[str]:
    name = f"s-{uuid.uuid4().hex[:8]}"
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
    yield name


def _holders(plane: ControlPlane, namespace: str) -> dict[str, str | None]:
    with plane.client() as api:
        items = api.get(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases").json()
    return {
        x["metadata"]["name"]: x["spec"].get("holderIdentity")
        for x in items["items"]
        if x["metadata"]["name"].startswith("strata-shard-")
    }


def test_a_replica_restarted_under_its_identity_holds_its_shards_at_once(
    plane: ControlPlane, namespace: str
) -> None:
    now = [0.0]
    client = kube_client(plane.admin_kubeconfig(), namespace)
    first = Shards(client, namespace, "replica-a", COUNT, DURATION, clock=lambda: now[0])
    first.tick()
    assert first.held == frozenset(range(COUNT)) and first.problem() is None

    again = Shards(client, namespace, "replica-a", COUNT, DURATION, clock=lambda: now[0])
    again.tick()  # no time passed: only its own name lets it take them
    assert again.held == frozenset(range(COUNT))
    assert set(_holders(plane, namespace).values()) == {"replica-a"}

    other = Shards(client, namespace, "replica-b", COUNT, DURATION, clock=lambda: now[0])
    other.tick()  # replica-a's Leases are live: replica-b takes none yet
    assert other.held == frozenset()
    now[0] += 1.0
    again.tick()  # two members now: replica-a gives back what is over its share
    assert len(again.held) == COUNT // 2
    restarted = Shards(client, namespace, "replica-a", COUNT, DURATION, clock=lambda: now[0])
    restarted.tick()
    other.tick()
    assert len(restarted.held) == COUNT // 2 and len(other.held) == COUNT // 2
    assert restarted.held.isdisjoint(other.held)

    now[0] += DURATION + 1  # no tick for longer than a lease: /readyz says so
    assert "not renewed" in (restarted.problem() or "")
    restarted.tick()
    assert restarted.problem() is None
