"""`strata controller` reads a BMC password kept in a Kubernetes Secret
(``password: {secret: {name, key}}``) through its own API client, with only the rights
deploy/rbac.yaml gives it: every server provisions. A missing Secret or key fails the
server with a message naming the credentials entry and the Secret, never a value."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.fleet_topology import PASSWORD_ENV
from tests.support.kube_api import wait_for


def _secret(run: Any, name: str, data: dict[str, str]) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    with run.api() as api:
        answer = api.post(f"/api/v1/namespaces/{run.namespace}/secrets", json=body)
        assert answer.status_code == 201, answer.text


def _failed(run: Any, topology: str, count: int) -> dict[str, dict[str, Any]]:
    def check() -> dict[str, dict[str, Any]] | None:
        run.check_alive()
        found = {
            s["metadata"]["name"]: s.get("status") or {}
            for s in run.servers()
            if s["metadata"]["name"].startswith(f"{topology}.")
        }
        failed = {k: v for k, v in found.items() if v.get("state") == "failed"}
        return failed if len(failed) == count else None

    result: dict[str, dict[str, Any]] = wait_for(check, 120, f"{topology}: {count} failed")
    return result


def test_bmc_passwords_from_secrets_provision_and_a_missing_one_is_named(
    make_run: Any, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run(4)
    monkeypatch.delenv(PASSWORD_ENV)  # the controller has the Secret only
    _secret(run, "bmc", {"password": password + "\n"})  # as `--from-file` of an echo
    _secret(run, "keyless", {"username": "strata"})
    run.start(kubeconfig=run.least_privilege())  # deploy/rbac.yaml's rights, no more

    document = run.document(run.systems, "lab")  # one topology: one boot service
    document["credentials"] = [
        {"name": "emulator", "username": "strata", "password": {"secret": {"name": "bmc", "key": "password"}}},
        {"name": "gone", "username": "strata", "password": {"secret": {"name": "absent", "key": "password"}}},
        {"name": "nokey", "username": "strata", "password": {"secret": {"name": "keyless", "key": "password", "namespace": run.namespace}}},
    ]  # fmt: skip
    nodes = document["regions"][0]["zones"][0]["racks"][0]["nodes"]
    nodes[2]["bmc"]["credentials"] = "gone"
    nodes[3]["bmc"]["credentials"] = "nokey"
    run.create(document)
    failed = _failed(run, "lab", 2)
    first, second = (failed[f"lab.{n['name']}"]["reason"] for n in nodes[2:])
    assert "credentials gone" in first
    assert f"Kubernetes Secret {run.namespace}/absent not found" in first
    assert "credentials nokey" in second
    assert f"Kubernetes Secret {run.namespace}/keyless has no key password" in second
    wait_for(lambda: _provisioned(run, "lab", 2), 120, "2 servers provisioned")
    for system in run.systems[:2]:
        assert run.machines.by_name(system.name).power_ons == 1
    for system in run.systems[2:]:
        assert run.machines.by_name(system.name).power_ons == 0
    assert password not in run.log()
    assert "forbidden" not in run.log().lower()  # deploy/rbac.yaml grants every call made
    assert password not in str(run.servers())


def _provisioned(run: Any, topology: str, count: int) -> bool | None:
    run.check_alive()
    states = [
        (s.get("status") or {}).get("state")
        for s in run.servers()
        if s["metadata"]["name"].startswith(f"{topology}.")
    ]
    return True if states.count("provisioned") == count else None
