"""What preflight reads of the target (docs/pivot.md, "Preflight"): each of Strata's
CRDs once — the Strata that installed it and the version it serves are checked on
the one copy (they were read twice, and the Server CRD a third time). Counted by
the API server itself (its ``apiserver_request_total``), on a dry run that finds the
CRDs installed."""

from __future__ import annotations

import re
from pathlib import Path

from strata.operator.crds import all_crds
from strata.pivot import End, Options, Pivot
from strata.pivot.steady import OPEN, states, summary
from tests.integration.pivot.conftest import TOPOLOGY, provisioned_state
from tests.support.kube_api import ControlPlane

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_GETS = re.compile(
    r'^apiserver_request_total\{(?=[^}]*resource="customresourcedefinitions")'
    r'(?=[^}]*verb="GET")[^}]*\} (\d+)$',
    re.M,
)


def _crd_gets(plane: ControlPlane) -> int:
    with plane.client() as api:
        text = api.get("/metrics").text
    return sum(int(n) for n in _GETS.findall(text))


def test_preflight_reads_each_crd_once(plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    with plane.client() as api:
        for crd in all_crds():
            assert api.post(CRDS, json=crd).status_code in (201, 409)
    state = tmp_path / "strata.db"
    provisioned_state(state, 2)
    lines: list[str] = []
    target = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    mover = Pivot(End.sqlite(state, TOPOLOGY), target, Options(say=lines.append, dry_run=True))
    before = _crd_gets(plane)
    mover.run()
    after = _crd_gets(plane)
    mover.close()
    assert after - before == len(all_crds()), lines
    assert sum("CRD servers.strata.dev is installed and serves v1alpha1" in x for x in lines) == 1


def test_servers_in_flight_are_counted_by_state() -> None:
    busy = {"n1": "provisioning", "n2": OPEN, "n3": "provisioning"}
    assert states(busy) == [(OPEN, 1), ("provisioning", 2)]
    assert summary(busy) == "3 servers in flight (boot attempt open 1, provisioning 2)"
