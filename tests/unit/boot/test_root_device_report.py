"""A machine whose hints pick no disk, or several, reports it through the boot service: the
install script's own report URL is accepted with its events token and recorded."""

from __future__ import annotations

import dataclasses
import re
from base64 import b64decode
from pathlib import Path
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.ignition.install import CLIENT_FAILURES
from strata.plan import build_plan
from strata.provisioning import PHONE_HOME
from strata.store import SQLiteStore
from strata.topology import load
from tests.unit.boot.test_service import BASE, ROOT, Clock, install, kinds, urls


def hinted_service(tmp_path: Path) -> tuple[TestClient, SQLiteStore, Clock]:
    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    hinted = tuple(
        dataclasses.replace(n, install_disk=None, root_device_hints={"serialNumber": "S1"})
        if n.name == "lab-cp-0"
        else n
        for n in plan.nodes
    )
    store = SQLiteStore(tmp_path / "strata.db")
    content = BootContent(
        dataclasses.replace(plan, nodes=hinted), BASE, TokenSigner(store.token_key())
    )
    clock = Clock()
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"), clock=clock)
    return TestClient(service.app), store, clock


def install_script(live: dict[str, object]) -> str:
    for entry in live["storage"]["files"]:  # type: ignore[index]
        if entry["path"] == "/opt/strata/install":
            kind, payload = entry["contents"]["source"].split(",", 1)
            return b64decode(payload).decode() if "base64" in kind else unquote(payload)
    raise AssertionError("no install script in the live config")


@pytest.mark.parametrize("event", sorted(CLIENT_FAILURES.values()))
def test_the_failure_the_machine_reports_is_accepted_and_recorded(
    tmp_path: Path, event: str
) -> None:
    client, store, clock = hinted_service(tmp_path)
    with client:
        live = client.get(urls(install(client, store, clock))["ignition.config.url"]).json()
        found = re.search(r"-X POST '([^']+event=)'", install_script(live))
        assert found is not None
        assert client.post(found.group(1).removeprefix(BASE) + event).status_code == 204
    assert kinds(store)[-1] == event
    assert event in PHONE_HOME
