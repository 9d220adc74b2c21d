"""`strata controller --kubeconfig K` — the host controller `strata pivot` starts
(``strata.pivot.host``) — goes on when K is replaced after it started, as
`strata pivot --back`/`--abort` replace a layer's kubeconfig minted again from the
layer's CA (``strata.cli.pivot_remint``): the certificate it started with expires, and
the same process, never restarted, provisions a server of a Topology created after
that with the new file (``strata.kube.kubeconfig_reload``), saying no key in its log."""

from __future__ import annotations

import base64
import datetime
import os
from pathlib import Path
from typing import Any

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.pki import CertAndKey, issue_client_cert
from strata.store.kube_api import KubeApi, KubeStoreError, client_from_kubeconfig
from tests.support.kube_api import ControlPlane, wait_for

STARTS_WITHIN = datetime.timedelta(seconds=45)  # the old certificate: the start, then expired


def _mint(plane: ControlPlane, lifetime: datetime.timedelta) -> CertAndKey:
    now = datetime.datetime.now(datetime.UTC)
    return issue_client_cert(plane.pki.ca, "strata-admin", ("system:masters",), lifetime, now=now)


def _write(plane: ControlPlane, path: Path, credential: CertAndKey) -> None:
    """Written beside and renamed over, 0600 (``state_file.write_private``'s way)."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(
        admin_kubeconfig(plane.url, plane.pki.ca.cert_pem, credential.cert_pem, credential.key_pem)
    )
    fresh.chmod(0o600)
    os.replace(fresh, path)


def test_a_running_controller_goes_on_with_its_kubeconfig_minted_again(
    make_run: Any, tmp_path: Path
) -> None:
    run = make_run(1)
    old = _mint(run.plane, STARTS_WITHIN)
    kubeconfig, witness_file = tmp_path / "mgmt.kubeconfig", tmp_path / "old.kubeconfig"
    _write(run.plane, kubeconfig, old)
    _write(run.plane, witness_file, old)
    process = run.start(kubeconfig=kubeconfig)  # /readyz: it listed and took its Leases
    new = _mint(run.plane, datetime.timedelta(hours=1))
    _write(run.plane, kubeconfig, new)
    witness = KubeApi(client_from_kubeconfig(witness_file))

    def refused() -> bool | None:
        run.check_alive()
        try:
            witness.get("/api/v1/namespaces/default")
        except KubeStoreError as failure:
            return failure.status == 401 or None
        return None

    wait_for(refused, 120, "the certificate the controller started with refused (expired)")
    witness.client.close()
    run.create(run.document(run.systems, "rotated"))
    run.wait_condition("rotated", "Ready", "True", 1, timeout=240)
    assert run.get("rotated")["status"]["states"] == {"provisioned": 1}
    assert process.poll() is None and run.processes["replica-a"] is process  # never restarted
    log = (run.directory / "controller.log").read_text()  # the whole of it
    for credential in (old, new):
        key = "".join(credential.key_pem.splitlines()[1:-1])
        assert key[:40] not in log
        assert base64.b64encode(credential.key_pem.encode()).decode()[:40] not in log
