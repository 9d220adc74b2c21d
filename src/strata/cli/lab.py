"""`strata lab up FILE` / `strata lab down FILE`: a virtual datacenter on this machine.

Up: the stand-in OS image into the artifact mirror, the lab's network namespace,
and its BMC service (strata.lab.daemon) inside it, each server a QEMU machine
powered by its BMC. Then `strata apply` runs inside the namespace, where the
BMC addresses and the provisioning network of the topology exist.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from strata.cli.common import TOPOLOGY, default_artifacts, default_state, topology_or_exit
from strata.cli.render import make_console
from strata.lab.daemon import lab_credentials
from strata.lab.image import build_image, install_image
from strata.lab.network import BRIDGE, LabNetwork, lab_network

__all__ = ["lab"]


def workdir(file: Path) -> Path:
    return file.parent / ".strata" / "lab"


@click.group()
def lab() -> None:
    """A virtual datacenter: QEMU machines behind emulated Redfish BMCs."""


@lab.command()
@TOPOLOGY
@click.option(
    "--image-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path.home() / ".cache" / "strata" / "lab-image",
    show_default=True,
)
def up(file: Path, image_cache: Path) -> None:
    """Start FILE's servers as QEMU machines behind Redfish BMCs, in a network namespace."""
    console = make_console(stderr=True)
    topology = topology_or_exit(file)
    network = lab_network(topology)
    work = workdir(file)
    work.mkdir(parents=True, exist_ok=True)
    lab_credentials(topology, file.parent)  # before anything starts: the BMCs need them
    with console.status("building the lab's stand-in OS image (Debian kernel, busybox)"):
        kernel, initrd = build_image(image_cache)
    for os_name, version in sorted({(n.os.name, n.os.version) for n in topology.nodes}):
        install_image(kernel, initrd, default_artifacts(file), os_name, version)
    network.create()
    _set_aside(default_state(file), console)  # new machines: nothing recorded holds
    _start_bmc_service(network, file, work)
    console.print(
        f"lab [bold]{topology.name}[/] is up: {len(topology.nodes)} machines, powered off, behind "
        f"Redfish BMCs at {', '.join(network.bmc_hosts)}, in network namespace {network.namespace}\n"
        f"provision them:\n  ip netns exec {network.namespace} strata apply -f {file} "
        f"--listen {network.gateway}:8080 --dhcp-interface {BRIDGE}\n"
        f"consoles: {work}/<node>.console.log; stop with: strata lab down -f {file}"
    )


def _start_bmc_service(network: LabNetwork, file: Path, work: Path) -> None:
    """strata.lab.daemon inside the namespace, detached; back once it listens."""
    (work / "ready").unlink(missing_ok=True)
    daemon = subprocess.Popen(
        [
            *network.inside,
            sys.executable,
            "-m",
            "strata.lab.daemon",
            "--file",
            str(file.resolve()),
            "--workdir",
            str(work.resolve()),
        ],
        stdin=subprocess.DEVNULL,
        stdout=(work / "daemon.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (work / "daemon.pid").write_text(f"{daemon.pid}\n")
    deadline = time.monotonic() + 30
    while not (work / "ready").exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            network.delete()
            log = (work / "daemon.log").read_text(errors="replace")[-1500:]
            raise click.ClickException(f"the lab's BMC service did not start:\n{log}")
        time.sleep(0.1)


def _set_aside(state: Path, console: Console) -> None:
    """Move an earlier state (and its WAL) out of the way, never delete it: it may be a
    datacenter's, not a lab's."""
    files = list(state.parent.glob(state.name + "*"))
    if not files:
        return
    aside = state.parent / "set-aside" / time.strftime("%Y%m%dT%H%M%S")
    aside.mkdir(parents=True, exist_ok=True)
    for f in files:
        f.rename(aside / f.name)
    console.print(f"the earlier state is kept in {aside} (new machines start with a new state)")


@lab.command()
@TOPOLOGY
def down(file: Path) -> None:
    """Power the lab's machines off and remove its network namespace."""
    topology = topology_or_exit(file)
    network = lab_network(topology)
    pid_file = workdir(file) / "daemon.pid"
    if pid_file.exists():
        _stop(int(pid_file.read_text()))
        pid_file.unlink()
    network.delete()
    click.echo(f"lab {topology.name} is down")


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
