"""The resume's pieces that need no API server: the boot endpoint a host controller
takes, the DHCP leases carried to it, which taints keep the controller's pods off a
Node (Kubernetes' toleration matching), and a pid file naming another process."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from strata.pivot.ends import End
from strata.pivot.resume import _free, _tolerated, dhcp_here, listen_of, running


def test_the_boot_endpoint_a_host_controller_listens_on() -> None:
    assert listen_of(()) == ("0.0.0.0", 8080)  # strata controller's default
    assert listen_of(("--until", "joined", "--listen", "10.0.0.2:9000")) == ("10.0.0.2", 9000)
    assert listen_of(("--listen", ":9000")) == ("0.0.0.0", 9000)
    assert listen_of(("--listen", "10.0.0.2:9000", "--no-serve")) is None


def test_a_taken_endpoint_is_not_free_until_its_listener_closes() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = taken.getsockname()
        assert not _free(address)
    assert _free(address)


def test_a_host_controllers_dnsmasq_keeps_the_sources_directory(tmp_path: Path) -> None:
    state = tmp_path / ".strata" / "strata.db"
    source = End("sqlite", "lab", path=str(state))
    mirror = ("--artifacts", str(tmp_path / "artifacts"))
    assert dhcp_here(mirror, source) == mirror  # no DHCP: nothing
    args = ("--dhcp-interface", "eno2", *mirror)
    assert dhcp_here(args, source) == (*args, "--dhcp-dir", str(state.parent / "dhcp"))
    given = (*args, "--dhcp-dir", "/srv/dhcp")
    assert dhcp_here(given, source) == given  # the person's choice kept
    cluster = End("kube", "lab", kubeconfig="k", namespace="strata")
    assert dhcp_here(args, cluster) == args  # from a cluster: its pod's own


def test_taints_the_controllers_pods_tolerate() -> None:
    control_plane = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    assert not _tolerated(control_plane, [])
    assert _tolerated({"key": "x", "effect": "PreferNoSchedule"}, [])  # only a preference
    assert _tolerated(control_plane, [{"key": control_plane["key"], "operator": "Exists"}])
    assert _tolerated(control_plane, [{"operator": "Exists"}])  # every taint
    assert not _tolerated(
        control_plane, [{"key": control_plane["key"], "operator": "Exists", "effect": "NoExecute"}]
    )
    valued = {"key": "dedicated", "value": "infra", "effect": "NoExecute"}
    assert _tolerated(valued, [{"key": "dedicated", "operator": "Equal", "value": "infra"}])
    assert not _tolerated(valued, [{"key": "dedicated", "operator": "Equal", "value": "db"}])


def test_a_pid_file_counts_only_while_its_process_runs_the_recorded_command(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "controller.pid"
    assert running(pid_file) is None  # none yet
    own = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")[:-1]
    pid_file.write_text(json.dumps({"pid": os.getpid(), "command": [a.decode() for a in own]}))
    assert running(pid_file) == os.getpid()
    other = [sys.executable, "-m", "strata.cli.app", "controller"]  # a pid reused by another
    pid_file.write_text(json.dumps({"pid": os.getpid(), "command": other}))
    assert running(pid_file) is None
    pid_file.write_text("not json")
    assert running(pid_file) is None


def test_the_commands_offer_the_controller_modes_resume_takes() -> None:
    from strata.cli.pivot_host import CONTROLLER_MODES
    from strata.pivot.resume import MODES

    assert CONTROLLER_MODES == MODES
