"""The Kubernetes side of a run to joined: one watch per layer, on the layer's endpoint,
following exactly the layer's nodes by their providerID, with a credential signed by the
layer's kept CA — minted once and reused while it has more than half its life left (a
new RSA key per retry cost tens of milliseconds while a layer's API was not up)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from strata.cli.joining import keep_materials, node_watcher
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]


def test_one_watch_per_layer_with_a_reused_credential_from_the_layers_ca(tmp_path: Path) -> None:
    plan = build_plan(load(ROOT / "examples/midsize/topology.yaml"))
    store = SQLiteStore(tmp_path / "state.db")
    materials = keep_materials(plan, store)
    watcher = node_watcher(plan, store, materials)
    assert [w.layer for w in watcher.layers] == [c.name for c in plan.clusters]
    for watch, cluster in zip(watcher.layers, plan.clusters, strict=True):
        assert watch.server == cluster.endpoint and watch.init_node == cluster.control_plane[0]
        assert set(watch.nodes) == {*cluster.control_plane, *cluster.workers}
        assert all(v == f"strata://{plan.topology}/{n}" for n, v in watch.nodes.items())
        first, again = watch.credential(), watch.credential()
        assert again is first
        cert = x509.load_pem_x509_certificate(first.cert_pem.encode())
        ca = materials[cluster.name].pki.ca.certificate
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)
    store.close()
