"""A layer's cluster material is generated once and kept: a second run, a re-plan and a
second process all get the same CAs; the token is rotated only while nodes remain to
join; concurrent writers end with one PKI and one token; no secret shows.

Two SQLiteStore objects on one file stand for two processes (each has its own
connection); one test uses two real processes.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

import strata.kube.material_store as material_store
from strata.errors import StrataError
from strata.kube.material_store import (
    ROTATE_MARGIN,
    cluster_material,
    layer_admin_kubeconfig,
    stored_material,
)
from strata.kube.pki import PKIError, generate_pki
from strata.kube.tokens import TokenError
from strata.plan.model import ClusterPlan
from strata.store import SQLiteStore
from strata.store.clusters import StoredCluster

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
ROOT = Path(__file__).resolve().parents[3]


def layer(name: str = "mgmt", **changes: object) -> ClusterPlan:
    plan = ClusterPlan(
        name=name,
        index=1,
        distribution="kubeadm",
        version="1.31.2",
        endpoint="https://192.168.110.10:6443",
        pod_cidr="10.244.0.0/16",
        service_cidr="10.96.0.0/12",
        provisioned_by="seed",
        pivot=False,
        control_plane=("cp-0",),
        workers=("worker-0",),
    )
    return dataclasses.replace(plan, **changes)  # type: ignore[arg-type]


def nodes_to_join() -> bool:
    return False


def every_node_joined() -> bool:
    return True


def test_material_is_generated_once_and_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
    later = NOW + datetime.timedelta(hours=1)
    again = cluster_material(store, layer(), later, all_joined=nodes_to_join)
    second_run = cluster_material(
        SQLiteStore(tmp_path / "s.db"), layer(), later, all_joined=nodes_to_join
    )
    for material in (again, second_run):
        assert material.pki == first.pki
        assert material.pki.discovery_hash == first.pki.discovery_hash
        assert material.token == first.token
        assert material.certificate_key == first.certificate_key
        assert material.created == first.created == NOW
    assert first.token.expires == NOW + datetime.timedelta(hours=24)  # kubeadm's default TTL
    assert store._db.execute("SELECT count(*) FROM clusters").fetchone()[0] == 1


def test_a_replan_that_changes_version_or_endpoint_keeps_the_cas(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
    replanned = layer(version="1.30.6", endpoint="https://10.20.0.5:6443", workers=())
    after = cluster_material(store, replanned, NOW, all_joined=nodes_to_join)
    assert after.pki.discovery_hash == first.pki.discovery_hash


def test_each_layer_has_its_own_material(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    mgmt = cluster_material(store, layer("mgmt"), NOW, all_joined=nodes_to_join)
    workload = cluster_material(store, layer("workload"), NOW, all_joined=nodes_to_join)
    assert mgmt.pki.discovery_hash != workload.pki.discovery_hash
    assert mgmt.token.value != workload.token.value


def test_an_expired_token_is_rotated_while_nodes_remain_to_join(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
    expired = first.token.expires + datetime.timedelta(seconds=1)
    rotated = cluster_material(store, layer(), expired, all_joined=nodes_to_join)
    assert rotated.token.value != first.token.value
    assert rotated.token.expires == expired + datetime.timedelta(hours=24)
    assert (rotated.rotated, rotated.created) == (expired, NOW)
    assert rotated.pki.discovery_hash == first.pki.discovery_hash  # only the token changes
    assert rotated.certificate_key == first.certificate_key
    row = store.cluster("mgmt")
    assert row is not None and row.token == rotated.token.value  # the old one is gone


def test_a_token_about_to_expire_is_rotated_before_it_does(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
    close = first.token.expires - ROTATE_MARGIN + datetime.timedelta(minutes=1)
    assert not first.token.expired(close)
    assert cluster_material(store, layer(), close, all_joined=nodes_to_join).token != first.token


def test_an_expired_token_is_kept_once_every_node_joined(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
    expired = first.token.expires + datetime.timedelta(days=3)
    kept = cluster_material(store, layer(), expired, all_joined=every_node_joined)
    assert kept.token == first.token and kept.rotated == NOW


def test_whether_all_joined_is_asked_only_when_the_token_runs_out(tmp_path: Path) -> None:
    def not_to_be_asked() -> bool:
        raise AssertionError("asked although the token is good for hours")

    store = SQLiteStore(tmp_path / "s.db")
    cluster_material(store, layer(), NOW, all_joined=not_to_be_asked)
    cluster_material(store, layer(), NOW + datetime.timedelta(hours=20), all_joined=not_to_be_asked)


def test_a_ttl_within_the_rotation_margin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be longer than"):
        cluster_material(
            SQLiteStore(tmp_path / "s.db"),
            layer(),
            NOW,
            all_joined=nodes_to_join,
            token_ttl=ROTATE_MARGIN,
        )


def test_two_writers_generating_at_once_keep_one_pki(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both generate before either writes (a barrier holds them): the second to write
    gets the first's material, and both return it."""
    barrier = threading.Barrier(2, timeout=30)

    def generate_in_step(now: datetime.datetime) -> object:
        made = generate_pki(now)
        barrier.wait()
        return made

    monkeypatch.setattr(material_store, "generate_pki", generate_in_step)
    stores = [SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")]
    results: list[str] = []

    def first_use(store: SQLiteStore) -> None:
        material = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
        results.append(material.pki.discovery_hash + material.token.value)

    threads = [threading.Thread(target=first_use, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and results[0] == results[1]
    assert stores[0]._db.execute("SELECT count(*) FROM clusters").fetchone()[0] == 1


_FIRST_USE = """
import datetime, sys
from pathlib import Path
from strata.kube.material_store import cluster_material
from strata.plan.model import ClusterPlan
from strata.store import SQLiteStore
layer = ClusterPlan("mgmt", 1, "kubeadm", "1.31.2", "https://192.168.110.10:6443",
                    "10.244.0.0/16", "10.96.0.0/12", "seed", False, ("cp-0",), ())
store, now = SQLiteStore(Path(sys.argv[1])), datetime.datetime.now(datetime.UTC)
print(cluster_material(store, layer, now, all_joined=lambda: False).pki.discovery_hash)
"""


def test_two_processes_first_using_a_layer_at_once_keep_one_pki(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "s.db").close()  # the state exists; the layer has nothing yet
    args = [sys.executable, "-c", _FIRST_USE, str(tmp_path / "s.db")]
    runs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    hashes = {run.communicate(timeout=120)[0].strip() for run in runs}
    assert all(run.returncode == 0 for run in runs)
    material = stored_material(SQLiteStore(tmp_path / "s.db", read_only=True), "mgmt")
    assert material is not None
    assert hashes == {material.pki.discovery_hash}


def test_two_writers_rotating_at_once_keep_one_token(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    first = cluster_material(one, layer(), NOW, all_joined=nodes_to_join)
    expired = first.token.expires + datetime.timedelta(seconds=1)
    winner = cluster_material(two, layer(), expired, all_joined=nodes_to_join)
    # the other writer read the old token before the winner replaced it: its swap is refused
    late = one.rotate_cluster_token("mgmt", first.token.value, "abcdef.0123456789abcdef", 0, 0)
    assert late.token == winner.token.value
    assert late.rotated == expired.timestamp()


def test_a_reader_gets_nothing_for_a_layer_never_applied_and_writes_nothing(
    tmp_path: Path,
) -> None:
    SQLiteStore(tmp_path / "s.db").close()
    reader = SQLiteStore(tmp_path / "s.db", read_only=True)
    assert stored_material(reader, "mgmt") is None
    assert reader.cluster("mgmt") is None


def test_join_material_carries_the_pin_the_token_and_what_is_left_of_it(tmp_path: Path) -> None:
    material = cluster_material(
        SQLiteStore(tmp_path / "s.db"), layer(), NOW, all_joined=nodes_to_join
    )
    join = material.join_material(NOW + datetime.timedelta(hours=4))
    assert join.ca_cert_hashes == (material.pki.discovery_hash,)
    assert (join.token, join.certificate_key) == (
        material.token.value,
        material.certificate_key.value,
    )
    assert join.token_ttl == datetime.timedelta(hours=20)


def test_the_admin_kubeconfig_is_minted_from_the_stored_ca(tmp_path: Path) -> None:
    material = cluster_material(
        SQLiteStore(tmp_path / "s.db"), layer(), NOW, all_joined=nodes_to_join
    )
    text = layer_admin_kubeconfig(material, "https://192.168.110.10:6443", NOW)
    config = yaml.safe_load(text)
    assert config["clusters"][0]["name"] == "mgmt"
    assert config["clusters"][0]["cluster"]["server"] == "https://192.168.110.10:6443"
    assert config["current-context"] == "strata-admin@mgmt"
    pem = base64.b64decode(config["users"][0]["user"]["client-certificate-data"])
    cert = x509.load_pem_x509_certificate(pem)
    cert.verify_directly_issued_by(material.pki.ca.certificate)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "strata-admin"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "system:masters"
    )
    assert cert.not_valid_after_utc == NOW + datetime.timedelta(hours=1)


def test_no_secret_shows_in_a_repr_or_an_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    material = cluster_material(store, layer(), NOW, all_joined=nodes_to_join)
    row = store.cluster("mgmt")
    assert row is not None
    secrets = [material.token.secret, material.certificate_key.value, "PRIVATE KEY"]
    shown = [repr(material), str(material), repr(row), str(row), repr(material.join_material(NOW))]
    assert material.token.token_id in repr(material)  # the public id, to tell tokens apart
    for text in shown:
        for secret in secrets:
            assert secret not in text
    pki = row.pki.replace("BEGIN CERTIFICATE", "BEGIN NONSENSE", 1)
    key = row.certificate_key[:-1] + "Z"
    damaged: list[tuple[str, StoredCluster, type[StrataError]]] = [
        (pki, dataclasses.replace(row, pki=pki), PKIError),
        (row.token + "x", dataclasses.replace(row, token=row.token + "x"), TokenError),
        (key, dataclasses.replace(row, certificate_key=key), TokenError),
    ]
    for number, (value, bad, error) in enumerate(damaged):
        broken = SQLiteStore(tmp_path / f"damaged-{number}.db")
        broken.keep_cluster(bad)
        with pytest.raises(error) as raised:
            stored_material(broken, "mgmt")
        message = f"{raised.value} {raised.value.hint}"
        for secret in [*secrets, value, bad.certificate_key, bad.token]:
            assert secret not in message
