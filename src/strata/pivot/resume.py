"""Step 7, resume: the target's controller started, once the move has switched and the
target's writer lease is released for it (docs/pivot.md, "Resume and the handover").

``Options.controller`` says how:

- ``cluster``: the Deployment ``strata-controller`` the install made paused (replicas
  0, the replicas wanted in its annotation ``strata.dev/replicas``) is scaled to them
  (apps/v1 Deployment, a JSON merge patch of ``spec.replicas``). One already scaled
  (replicas above 0) is left as it is.
- ``host``: ``strata controller --kubeconfig K --namespace N --identity strata-host-H``
  with ``Options.host_args`` (--listen, --url, --dhcp-interface, --until ...) started
  on this machine against the target, detached (its own session), its log and pid file
  beside the state (``host_files``) — the way operator projects run a controller out
  of cluster while it cannot run in it. It inherits this process's environment, so
  BMC passwords the topology reads from variables or files are found as before.
  Before it starts, the boot endpoint it listens on must be free: the source's boot
  service stops on its own at the switch (``strata serve`` exits when its lease says
  ``moved``); after ``FREE_WAIT`` seconds it is a failure the rerun retries.
- ``auto``: ``cluster`` when a Node is Ready, runs pods (``strata.pivot.nodes``: its
  runtime holds an image), is schedulable and carries no taint the
  Deployment's pods do not tolerate (Kubernetes "Taints and Tolerations"), else
  ``host``.
- ``none``: nothing started (the library's default).

Done again after a crash, it starts nothing twice: a host controller whose pid file
names a live process with the same command line is kept, and none is started while any
controller holds a live shard or member Lease in the target's namespace
(``strata.operator.shards``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.pivot import failpoints
from strata.pivot.ends import End
from strata.pivot.moving import Options
from strata.pivot.nodes import runs_pods, why_none
from strata.store import KubeStore, MovableStore
from strata.store.kube_api import KubeApi, KubeStoreError
from strata.store.state_file import write_private

__all__ = [
    "DEPLOYMENT",
    "MODES",
    "REPLICAS",
    "ResumeFailed",
    "host_files",
    "start_controller",
    "stop_host",
]

DEPLOYMENT = "strata-controller"  # deploy/deployment.yaml
REPLICAS = "strata.dev/replicas"  # the replicas a paused Deployment is scaled to
MODES = ("auto", "cluster", "host", "none")
FREE_WAIT = 60.0  # seconds the source's boot service is given to free the boot endpoint
TAKE_WAIT = 60.0  # seconds a host controller is given to announce itself (its member Lease)


class ResumeFailed(StrataError):
    """The target's controller could not be started; the move itself is switched."""

    kind = "pivot-resume"
    exit_code = 1
    hint = "the move has switched: fix what it says and run the same `strata pivot` again to finish"


def start_controller(options: Options, source: End, target: End, store: MovableStore) -> None:
    """Start the target's controller as ``options.controller`` says (module doc).
    Raises ``ResumeFailed`` (a missing Deployment, a boot endpoint still taken, a host
    controller that exits or never announces itself)."""
    mode, say = options.controller, options.say
    if mode == "none":
        say("controller: none started (--controller none): start it in the cluster or on a host")
        return
    if not isinstance(store, KubeStore):
        say(f"controller: {target.describe()} is a state file: `strata apply` drives it")
        return
    api = store.api
    if mode == "auto":
        nodes = schedulable(api, target.namespace)
        mode = "cluster" if nodes else "host"
        why = f"Nodes can run it: {', '.join(nodes[:3])}" if nodes else why_none(api)
        say(f"controller: auto -> {mode} ({why})")
    if mode == "cluster":
        say(scale_up(api, target.namespace))
        say(await_replica(api, target.namespace))
    elif mode == "host":
        say(start_host(options.host_args, source, target, api))
    else:
        raise ResumeFailed(f"--controller {mode}: not one of {', '.join(MODES)}")


# -- cluster -------------------------------------------------------------------------


def _deployment_path(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}"


def scale_up(api: KubeApi, namespace: str) -> str:
    """The paused Deployment scaled to its ``strata.dev/replicas`` (1 without it);
    what was done, as a line."""
    path = _deployment_path(namespace)
    found = api.get(path)
    if found is None:
        raise ResumeFailed(
            f"no Deployment {DEPLOYMENT} in namespace {namespace}: install it "
            "(docs/in-cluster.md) or run the controller on a host (--controller host)"
        )
    current = int((found.get("spec") or {}).get("replicas", 1))
    if current > 0:
        return f"controller: deployment/{DEPLOYMENT} already runs {current} replica(s)"
    annotations = (found.get("metadata") or {}).get("annotations") or {}
    try:
        wanted = max(1, int(annotations.get(REPLICAS, "1")))
    except ValueError:
        wanted = 1
    api.merge(path, {"spec": {"replicas": wanted}})
    return f"controller: deployment/{DEPLOYMENT} in {namespace} scaled from 0 to {wanted}"


def await_replica(api: KubeApi, namespace: str) -> str:
    """Whether a replica of the Deployment runs: its member Lease live within
    ``TAKE_WAIT`` seconds — not awaited when no Node can run it (said at once). A line
    to say; never a failure (the move is done; the Deployment starts when it can)."""
    if not schedulable(api, namespace):
        return "controller: no Node can run its pods yet: it starts once one can"
    deadline = time.monotonic() + TAKE_WAIT
    while time.monotonic() < deadline:
        holders = live_holders(api, namespace)
        if holders:
            return f"controller: running in the cluster ({', '.join(holders)})"
        time.sleep(1.0)
    return (
        f"controller: no replica took a Lease within {TAKE_WAIT:.0f} s: "
        f"see kubectl -n {namespace} get pods -l app.kubernetes.io/name={DEPLOYMENT}"
    )


def schedulable(api: KubeApi, namespace: str) -> list[str]:
    """The Nodes the controller's pods could run on: Ready, running pods, not cordoned, every
    NoSchedule/NoExecute taint tolerated by the Deployment's pod template (none:
    no toleration). A cluster whose Nodes cannot be listed counts as none."""
    found = api.get(_deployment_path(namespace)) or {}
    template = ((found.get("spec") or {}).get("template") or {}).get("spec") or {}
    tolerations = template.get("tolerations") or []
    try:
        nodes = list(api.items("/api/v1/nodes"))
    except KubeStoreError:
        return []
    return [
        n["metadata"]["name"]
        for n in nodes
        if _ready(n) and runs_pods(n) and not (n.get("spec") or {}).get("unschedulable")
        if all(_tolerated(t, tolerations) for t in (n.get("spec") or {}).get("taints") or [])
    ]


def _ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _tolerated(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    """Kubernetes' matching: an empty key with Exists tolerates every taint; else the
    key equal and (Exists, or the value equal), the effect empty or equal."""
    if taint.get("effect") not in ("NoSchedule", "NoExecute"):
        return True
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        exists = t.get("operator") == "Exists"
        if exists and not t.get("key"):
            return True
        if t.get("key") == taint.get("key") and (exists or t.get("value") == taint.get("value")):
            return True
    return False


# -- host ----------------------------------------------------------------------------


def host_files(source: End, target: End) -> tuple[Path, Path]:
    """(pid file, log file) of the host controller of ``target``: beside the source's
    state file, else beside the target's kubeconfig."""
    base = Path(source.path if source.kind == "sqlite" else target.kubeconfig).parent
    tag = "".join(c if c.isalnum() else "-" for c in f"{target.topology}-{target.namespace}")
    return base / f"controller-{tag}.pid", base / f"controller-{tag}.log"


def identity() -> str:
    """The host controller's identity in its Leases: the same on every start on this
    host, so one restarted takes its shards back at once."""
    return "strata-host-" + "".join(c if c.isalnum() else "-" for c in socket.gethostname())


def start_host(args: tuple[str, ...], source: End, target: End, api: KubeApi) -> str:
    pid_file, log_file = host_files(source, target)
    pid = running(pid_file)
    if pid is not None:
        return f"controller: on this host already (pid {pid}, log {log_file})"
    holders = [h for h in live_holders(api, target.namespace) if h != identity()]
    if holders:  # this host's own identity with no live process: a dead one, taken over
        return (
            f"controller: already runs for {target.namespace} ({', '.join(holders)}): none started"
        )
    address = listen_of(args)
    if address is not None:
        _await_free(address)
    command = [
        sys.executable,
        "-m",
        "strata.cli.app",
        "controller",
        "--kubeconfig",
        target.kubeconfig,
        "--namespace",
        target.namespace,
        "--identity",
        identity(),
        *dhcp_here(args, source),
    ]
    found = _running_command(command)  # started by a run killed before its pid file
    if found is not None:
        _write_pid(pid_file, found, command)
        return f"controller: on this host already (pid {found}, log {log_file})"
    child = _spawn(command, log_file)
    failpoints.reached("resume:spawned")
    _write_pid(pid_file, child.pid, command)
    _await_member(api, target.namespace, child, log_file)
    return f"controller: started on this host against {target.describe()} (pid {child.pid}, log {log_file})"


def running(pid_file: Path) -> int | None:
    """The pid the file names when that process runs the command it recorded."""
    try:
        kept = json.loads(pid_file.read_text())
        line = Path(f"/proc/{int(kept['pid'])}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (
        int(kept["pid"])
        if line.split(b"\0")[:-1] == [a.encode() for a in kept["command"]]
        else None
    )


def _running_command(command: list[str]) -> int | None:
    """A process of this host running exactly ``command`` (/proc/PID/cmdline), if any."""
    wanted = [a.encode() for a in command]
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and line.split(b"\0")[:-1] == wanted:
            return int(entry.name)
    return None


def live_holders(api: KubeApi, namespace: str) -> list[str]:
    """Identities holding a shard or member Lease in ``namespace`` renewed within its
    duration (a controller runs there)."""
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
    now, found = time.time(), set()
    for lease in api.items(path):
        if not lease["metadata"]["name"].startswith(("strata-shard-", "strata-member-")):
            continue
        spec = lease.get("spec") or {}
        holder, renewed = spec.get("holderIdentity"), spec.get("renewTime")
        if holder and renewed and _seconds(renewed) + spec.get("leaseDurationSeconds", 15) > now:
            found.add(str(holder))
    return sorted(found)


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def listen_of(args: tuple[str, ...]) -> tuple[str, int] | None:
    """Where the host controller's boot service will listen (None: --no-serve)."""
    if "--no-serve" in args:
        return None
    value = args[args.index("--listen") + 1] if "--listen" in args[:-1] else "0.0.0.0:8080"
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port)


def dhcp_here(args: tuple[str, ...], source: End) -> tuple[str, ...]:
    """With --dhcp-interface and no --dhcp-dir, a host controller's dnsmasq keeps its
    configuration, hosts and leases in the very directory the source's did (``dhcp``
    beside the state, where `strata apply` and `strata serve` keep them): the leases
    handed out from the range are the same file, renewed as before, and nothing is
    written beside the topology's artifacts. ``args`` with ``--dhcp-dir`` added, or as
    given."""
    if "--dhcp-interface" not in args or "--dhcp-dir" in args or source.kind != "sqlite":
        return args
    return (*args, "--dhcp-dir", str((Path(source.path).parent / "dhcp").resolve()))


def _free(address: tuple[str, int]) -> bool:
    """Whether this host can listen there (as the boot server will: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def _await_free(address: tuple[str, int]) -> None:
    deadline = time.monotonic() + FREE_WAIT
    while not _free(address):
        if time.monotonic() > deadline:
            raise ResumeFailed(
                f"the boot endpoint {address[0]}:{address[1]} is still taken after {FREE_WAIT:.0f} s "
                "(the source's boot service, `strata serve`, still running?): stop it"
            )
        time.sleep(0.5)


def _spawn(command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "STRATA_PIVOT_FAILPOINT"}
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)  # one already there (an earlier run's, made by hand) too
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # detached: outlives this command and its terminal
        )
    finally:
        os.close(fd)


def _write_pid(pid_file: Path, pid: int, command: list[str]) -> None:
    write_private(pid_file, json.dumps({"pid": pid, "command": command}))


def stop_host(source: End, target: End, say: Callable[[str], None], wait: float = 30.0) -> None:
    """Stop the host controller a move from ``source`` to ``target`` started (its pid
    file names a live process running the recorded command): SIGTERM — it gives its
    Leases back — then SIGKILL after ``wait`` seconds. For ``--back``: the state file
    takes charge again, and a controller left driving the cluster's copy would be a
    second writer (preflight refuses while it holds a Lease). The pid file is kept: it
    holds the command to start it again. Nothing when none runs."""
    pid_file, _ = host_files(source, target)
    pid = running(pid_file)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while running(pid_file) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    if running(pid_file) == pid:
        os.kill(pid, signal.SIGKILL)
    say(
        f"controller: the host controller this move started (pid {pid}) stopped: "
        f"{source.describe()} takes charge again (its command is kept in {pid_file})"
    )


def _await_member(
    api: KubeApi, namespace: str, child: subprocess.Popen[bytes], log_file: Path
) -> None:
    """Until the controller's member Lease names it; ``ResumeFailed`` when it exits
    first (its log's last lines said) or takes longer than ``TAKE_WAIT``."""
    deadline = time.monotonic() + TAKE_WAIT
    while identity() not in live_holders(api, namespace):
        if child.poll() is not None:
            tail = log_file.read_text(errors="replace").splitlines()[-5:]
            raise ResumeFailed(
                f"the host controller exited ({child.returncode}): " + " | ".join(tail)
            )
        if time.monotonic() > deadline:
            raise ResumeFailed(
                f"the host controller took no Lease within {TAKE_WAIT:.0f} s: see {log_file}"
            )
        time.sleep(0.25)
