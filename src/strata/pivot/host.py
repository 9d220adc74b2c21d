"""A controller on this host (``--controller host``, or ``auto`` on a cluster that runs
no pods): ``strata controller --kubeconfig K --namespace N --identity strata-host-H``
started against the target, detached (its own session), its log and pid file beside
the state (``host_files``); found again by its pid file (``running``), stopped
(``stop_host``: for the way back) and started again from the command its pid file
keeps (``restart_host``: a way back rolled back). ``strata.pivot.resume`` starts it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from strata.errors import StrataError
from strata.pivot import failpoints
from strata.pivot.ends import End
from strata.store.kube_api import KubeApi
from strata.store.state_file import write_private

__all__ = [
    "ResumeFailed",
    "host_files",
    "identity",
    "live_holders",
    "restart_host",
    "running",
    "start_host",
    "stop_host",
]

FREE_WAIT = 60.0  # seconds the source's boot service is given to free the boot endpoint
TAKE_WAIT = 60.0  # seconds a host controller is given to announce itself (its member Lease)


class ResumeFailed(StrataError):
    """The target's controller could not be started; the move itself is switched."""

    kind = "pivot-resume"
    exit_code = 1
    hint = "the move has switched: fix what it says and run the same `strata pivot` again to finish"


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


def stop_host(pid_file: Path, wait: float = 30.0) -> int | None:
    """Stop the host controller ``pid_file`` names (a live process running the recorded
    command): SIGTERM — it gives its Leases back — then SIGKILL after ``wait`` seconds;
    its pid, or None when none runs. The pid file is kept: it holds the command to
    start it again (``restart_host``)."""
    pid = running(pid_file)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while running(pid_file) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    if running(pid_file) == pid:
        os.kill(pid, signal.SIGKILL)
    return pid


def recorded_command(pid_file: Path) -> list[str] | None:
    """The command ``pid_file`` recorded (``_write_pid``); None when it is gone or
    holds none."""
    try:
        return [str(a) for a in json.loads(pid_file.read_text())["command"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def restart_host(
    pid_file: Path, log_file: Path, command: list[str] | None = None
) -> tuple[int, bool] | None:
    """The host controller ``pid_file`` recorded (or ``command``, the one the journal
    kept, when the file is gone or garbled), started again (a way back rolled back
    gives the cluster back its controller): ``(pid, started)`` — ``started`` False
    when it runs already (its pid file, or a process running the very command: no
    second one) — or None when there is no command. Its log appended to ``log_file``."""
    command = recorded_command(pid_file) or command
    if not command:
        return None
    pid = running(pid_file) or _running_command(command)
    if pid is not None:
        _write_pid(pid_file, pid, command)
        return pid, False
    child = _spawn(command, log_file)
    _write_pid(pid_file, child.pid, command)
    return child.pid, True


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
