"""`strata controller` (a subprocess) drives Topology objects on a real API server:
every server provisioned through sushy-tools' emulated BMCs; an edit applies the plan's
diff; a destructive edit waits for spec.consent; a broken Topology is refused with
located findings and no BMC is called."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.operator_run.conftest import TOPOLOGIES
from tests.support.fleet_topology import PASSWORD_ENV
from tests.support.kube_api import wait_for
from tests.support.redfish_emulator import USERNAME


def test_a_topology_applied_provisions_every_server_and_an_edit_applies_the_diff(
    make_run: Any,
) -> None:
    run = make_run(3)
    first, second, third = run.systems
    run.start(kubeconfig=run.least_privilege())  # deploy/rbac.yaml's rights, no more
    run.create(run.document([first, second], "lab"))
    ready = run.wait_condition("lab", "Ready", "True", 1)
    assert ready["reason"] == "AllServersReady"
    status = run.get("lab")["status"]
    assert status["servers"] == 2 and status["states"] == {"provisioned": 2}
    assert status["layers"] == {"mgmt": {"provisioned": 2}}
    assert run.condition("lab", "Planned")["message"] == "2 create"
    for system in (first, second):
        machine = run.machines.by_name(system.name)
        assert machine.errors == [] and machine.power_ons == 1
        assert machine.boots == ["net", "disk"]

    settled = run.get("lab")
    for _ in range(15):  # across several resyncs (0.5 s): the boot service stays up
        assert httpx.get(f"http://127.0.0.1:{run.port}/boot.ipxe", timeout=5).status_code == 200
        time.sleep(0.1)
    again = run.get("lab")  # a settled Topology: nothing rewritten, Progressing stays False
    assert again["metadata"]["resourceVersion"] == settled["metadata"]["resourceVersion"]
    assert run.condition("lab", "Progressing")["status"] == "False"

    run.replace(run.document([first, second, third], "lab"))  # one server added
    run.wait_condition("lab", "Ready", "True", 2)
    assert run.condition("lab", "Planned")["message"] == "1 create, 2 unchanged"
    assert run.get("lab")["status"]["states"] == {"provisioned": 3}
    assert [run.machines.by_name(s.name).power_ons for s in run.systems] == [1, 1, 1]
    servers = run.servers()  # the records are Server objects (the Kubernetes store)
    assert {s["metadata"]["name"]: s["status"]["state"] for s in servers} == {
        f"lab.{s.name}": "provisioned" for s in run.systems
    }
    _status_reads_the_cluster(run, [s.name for s in run.systems])


def _strata(*args: str) -> subprocess.CompletedProcess[str]:
    strata = str(Path(sys.executable).parent / "strata")
    return subprocess.run([strata, *args], capture_output=True, text=True, timeout=120)


def _status_reads_the_cluster(run: Any, nodes: list[str]) -> None:
    """`strata status/events --kubeconfig`: what the controller drives, read from the
    Topology object, its Servers and log, and the replicas' shard Leases."""
    where = ["--kubeconfig", str(run.plane.admin_kubeconfig()), "-n", run.namespace]
    shown = _strata("status", *where, "--topology", "lab", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["controller"] == "replica-a"
    assert status["counts"]["layer"] == {"mgmt": {"provisioned": 3}}
    assert set(status["nodes"]) == set(nodes)
    assert [c["layer"] for c in status["clusters"]] == ["mgmt"]  # from the Topology's spec
    text = _strata("status", *where, "--topology", "lab")
    assert text.returncode == 0 and "driven by replica-a" in text.stdout, text.stderr
    log = _strata("events", nodes[0], *where, "--topology", "lab", "-o", "json")
    assert log.returncode == 0, log.stderr
    assert [e["detail"]["to"] for e in json.loads(log.stdout) if e["kind"] == "state"][-1] == (
        "provisioned"
    )
    missing = _strata("status", *where, "--topology", "nope")
    assert missing.returncode == 1 and f"no Topology {run.namespace}/nope" in missing.stderr


def test_a_destructive_edit_waits_for_consent(make_run: Any) -> None:
    run = make_run(2)
    run.start()
    document = run.document(run.systems, "gitops")
    run.create(document)
    run.wait_condition("gitops", "Ready", "True", 1)
    target = run.systems[1].name

    document["defaults"]["os"]["version"] = "4152.2.0"  # every server's OS: reinstall
    run.replace(document)
    held = run.wait_condition("gitops", "Ready", "False", 2)
    assert held["reason"] == "ConsentRequired"
    assert "add them to spec.consent.allowReprovision" in held["message"]
    assert target in held["message"]
    assert [run.machines.by_name(s.name).power_ons for s in run.systems] == [1, 1]
    (told,) = [e for e in run.events("gitops") if e["reason"] == "ConsentRequired"]
    run.kill("replica-a")  # restarted: the same Event again is one Event, counted twice
    run.killed.discard("replica-a")
    run.start()
    wait_for(lambda: _counted(run, "gitops", told["metadata"]["name"]) == 2 or None, 60, "count 2")
    assert [
        e["metadata"]["name"] for e in run.events("gitops") if e["reason"] == "ConsentRequired"
    ] == [told["metadata"]["name"]]

    run.replace(document, consent={"allowReprovision": [target, "node-typo"]})
    still = run.wait_condition("gitops", "Ready", "False", 3)
    valid = run.condition("gitops", "Valid")  # consent naming no server: said, not silent
    assert valid["status"] == "True" and "node-typo: no such server" in valid["message"]
    assert any(e["reason"] == "UnknownConsent" for e in run.events("gitops"))
    assert target not in still["message"]  # consented: reinstalled; the other still held
    assert run.machines.by_name(target).power_ons == 2
    assert run.machines.by_name(run.systems[0].name).power_ons == 1


def test_a_broken_topology_is_refused_with_located_findings_and_nothing_touched(
    make_run: Any,
) -> None:
    run = make_run(2)
    run.start()
    document = run.document(run.systems, "broken")
    document["regions"][0]["zones"][0]["racks"][0]["nodes"][1]["bmc"]["credentials"] = "nosuch"
    run.create(document)
    invalid = run.wait_condition("broken", "Valid", "False", 1)
    assert invalid["reason"] == "Invalid"
    assert (
        "topologies/broken: spec.regions[0].zones[0].racks[0].nodes[1].bmc.credentials"
        in (invalid["message"])
    )
    assert run.condition("broken", "Planned")["status"] == "False"
    warnings = [e for e in run.events("broken") if e["reason"] == "Invalid"]
    assert warnings and warnings[0]["type"] == "Warning"
    assert warnings[0]["message"] in invalid["message"]
    paths = {s.path for s in run.systems}
    assert not [r for r in run.requests if any(r[1].startswith(p) for p in paths)]
    assert all(run.machines.by_name(s.name).power_ons == 0 for s in run.systems)


def test_a_server_found_running_is_adopted_through_the_cluster(make_run: Any) -> None:
    """`strata adopt NODE --kubeconfig`: the request goes into the Topology's log, the
    running controller takes it (its next run reads what came between runs), and the
    server becomes provisioned without a power action."""
    run = make_run(2)
    fresh, running = run.systems
    on = httpx.post(  # someone else's server, already on: Strata never installed it
        f"{run.bmc_url.replace('redfish+', '')}{running.path}/Actions/ComputerSystem.Reset",
        json={"ResetType": "On"},
        auth=(USERNAME, os.environ[PASSWORD_ENV]),  # make_run sets it
        timeout=30,
    )
    assert on.status_code in (200, 204), on.text
    run.start()
    run.create(run.document([fresh, running], "lab"))
    wait_for(
        lambda: True if run.get("lab").get("status", {}).get("states") == _found else None,
        120,
        "one server provisioned, one found running",
    )
    offer = f"strata adopt {running.name} --kubeconfig FILE -n {run.namespace}"
    wait_for(  # adoption offered (before reinstall) in what Ready says
        lambda: True if offer in run.condition("lab", "Ready")["message"] else None, 60, offer
    )
    # waits for a person (a resync's run may write Progressing True before it reassesses,
    # leaving Ready's message, the offer, as it was: so it is waited for, not read once)
    run.wait_condition("lab", "Progressing", "False", 1, timeout=60)
    where = ["--kubeconfig", str(run.plane.admin_kubeconfig()), "-n", run.namespace]
    adopted = _strata("adopt", running.name, *where, "--topology", "lab")
    assert adopted.returncode == 0, adopted.stderr
    assert adopted.stdout.strip() == f"asked replica-a to adopt {running.name}"
    run.wait_condition("lab", "Ready", "True", 1)
    assert run.get("lab")["status"]["states"] == {"provisioned": 2}
    assert run.machines.by_name(running.name).power_ons == 1  # ours, before the controller
    assert run.machines.by_name(running.name).boots == ["disk"]


_found = {"provisioned": 1, "found-running": 1}


def test_a_failure_that_stays_is_logged_once_per_generation(make_run: Any) -> None:
    """A second Topology in the namespace: its boot service cannot listen where the
    first one's does. Said on the object (Degraded) and logged with its traceback once,
    not at every resync."""
    run = make_run(2)
    first, second = run.systems
    run.start()
    run.create(run.document([first], "one"))
    run.wait_condition("one", "Ready", "True", 1)
    run.create(run.document([second], "two"))
    degraded = run.wait_condition("two", "Degraded", "True", 1)
    assert degraded["reason"] == "Error" and "could not listen" in degraded["message"]
    time.sleep(3)  # six resyncs (0.5 s) or so: each tries again and fails again
    log = (run.directory / "controller.log").read_text()
    assert log.count("topology=two run failed") == 1
    assert log.count("Traceback") == 1
    assert run.machines.by_name(second.name).power_ons == 0


def _counted(run: Any, topology: str, name: str) -> int | None:
    found = [e.get("count") for e in run.events(topology) if e["metadata"]["name"] == name]
    return found[0] if found else None


def test_a_topology_deleted_and_made_again_is_a_new_object_on_the_kept_records(
    make_run: Any,
) -> None:
    """Deleted and created again under its name between two lists: a new object (a new
    uid) gets its own status; the state was kept (no ownerReferences: see
    docs/in-cluster.md), so its servers are unchanged and none is powered on again."""
    run = make_run(1)
    run.start()
    document = run.document(run.systems, "again")
    run.create(document)
    run.wait_condition("again", "Ready", "True", 1)
    with run.api() as api:
        gone = api.delete(f"{TOPOLOGIES.format(ns=run.namespace)}/again")
        assert gone.status_code == 200, gone.text
    run.create(document)
    run.wait_condition("again", "Ready", "True", 1)
    assert run.condition("again", "Planned")["message"] == "1 unchanged"
    assert run.machines.by_name(run.systems[0].name).power_ons == 1


def test_maintenance_through_the_cluster_and_back_untouched(make_run: Any) -> None:
    """`strata maintenance on|off NODE --kubeconfig`: the running controller takes the
    server out of its hands (not progress, not a failure: Progressing False) and gives
    it back where it rested, provisioned, with no BMC power action in between."""
    run = make_run(1)
    (server,) = run.systems
    run.start()
    run.create(run.document([server], "lab"))
    run.wait_condition("lab", "Ready", "True", 1)
    powered = run.machines.by_name(server.name).power_ons
    where = ["--kubeconfig", str(run.plane.admin_kubeconfig()), "-n", run.namespace]
    where += ["--topology", "lab"]
    on = _strata("maintenance", "on", server.name, "--reason", "new PSU", *where)
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == f"asked replica-a to maintenance-on {server.name}"
    wait_for(
        lambda: True if run.get("lab").get("status", {}).get("states") == _kept else None,
        60,
        "the server in maintenance",
    )
    run.wait_condition("lab", "Progressing", "False", 1, timeout=60)
    off = _strata("maintenance", "off", server.name, *where)
    assert off.returncode == 0, off.stderr
    run.wait_condition("lab", "Ready", "True", 1)
    assert run.get("lab")["status"]["states"] == {"provisioned": 1}
    assert run.machines.by_name(server.name).power_ons == powered


_kept = {"maintenance": 1}
