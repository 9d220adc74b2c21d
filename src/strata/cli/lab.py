"""`strata lab up FILE` / `strata lab down FILE`: a virtual datacenter on this machine.

Up: the stand-in OS image into the artifact mirror, the lab's network namespace,
and its BMC service (strata.lab.daemon) inside it, each server a QEMU machine
powered by its BMC. Then `strata apply` runs inside the namespace, where the
BMC addresses and the provisioning network of the topology exist — or, with
``--seed IMAGE``, the seed's own machine boots that image and runs it there.
`strata lab artifacts FILE` puts the stand-in OS into the mirror alone (what a seed
image for the lab carries: ``strata seed build --artifacts``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from strata.cli.common import TOPOLOGY, default_artifacts, default_state, topology_or_exit
from strata.cli.render import make_console
from strata.lab.daemon import LabSeedError, lab_credentials, seed_node
from strata.lab.image import build_image, install_image, stand_in_kube_artifacts
from strata.lab.kube_daemon import HANDOFF_PORT
from strata.lab.kube_processes import LabKubeError, check_binaries
from strata.lab.network import BRIDGE, LabNetwork, lab_network
from strata.plan import build_plan
from strata.seed.medium import SeedMediumError
from strata.topology import Topology

__all__ = ["lab"]


def workdir(file: Path) -> Path:
    return file.parent / ".strata" / "lab"


IMAGE_CACHE = click.option(  # where the stand-in OS image is built once
    "--image-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path.home() / ".cache" / "strata" / "lab-image",
    show_default=True,
)


@click.group()
def lab() -> None:
    """A virtual datacenter: QEMU machines behind emulated Redfish BMCs."""


@lab.command()
@TOPOLOGY
@IMAGE_CACHE
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A seed image (strata seed build --node NAME): NAME's machine boots it at start.",
)
@click.option(
    "--without-virtual-media",
    "no_media",
    multiple=True,
    metavar="NODE",
    help="NODE's BMC offers no virtual CD, as some BMCs do not (repeatable).",
)
@click.option(
    "--without-redfish",
    "no_redfish",
    multiple=True,
    metavar="NODE",
    help="NODE's BMC answers no Redfish for it (404), as a BMC with Redfish switched off: "
    "its bmc.fallback (IPMI) drives it (repeatable).",
)
def up(
    file: Path,
    image_cache: Path,
    seed: Path | None,
    no_media: tuple[str, ...],
    no_redfish: tuple[str, ...],
) -> None:
    """Start FILE's servers as QEMU machines behind Redfish BMCs, in a network namespace."""
    console = make_console(stderr=True)
    topology = topology_or_exit(file)
    names = {n.name for n in topology.nodes}
    for hint, given in (("--without-virtual-media", no_media), ("--without-redfish", no_redfish)):
        unknown = sorted(set(given) - names)
        if unknown:
            raise click.BadParameter(f"not in {file}: {', '.join(unknown)}", param_hint=hint)
    flags = [arg for node in no_media for arg in ("--without-virtual-media", node)]
    flags += [arg for node in no_redfish for arg in ("--without-redfish", node)]
    network = lab_network(topology)
    work = workdir(file)
    work.mkdir(parents=True, exist_ok=True)
    lab_credentials(topology, file.parent)  # before anything starts: the BMCs need them
    try:  # and the programs the lab runs Kubernetes with on the machines' behalf
        check_binaries()
        own = seed_node(seed.resolve(), topology) if seed is not None else None
    except (LabKubeError, LabSeedError, SeedMediumError) as err:
        raise click.ClickException(f"{err} ({err.hint})" if err.hint else str(err)) from None
    _stand_ins(file, topology, image_cache, console)
    network.create()
    _set_aside(default_state(file), console)  # new machines: nothing recorded holds
    _start_daemons(network, file, work, seed, flags)
    if own is not None:
        console.print(
            f"lab [bold]{topology.name}[/] is up: {own} boots the seed {seed} "
            f"(console: {work}/{own}.console.log); the other {len(topology.nodes) - 1} "
            f"machines are powered off, behind Redfish BMCs at {', '.join(network.bmc_hosts)}, "
            f"in network namespace {network.namespace}; stop with: strata lab down -f {file}"
        )
        return
    # a layer marked pivot: true moves the plane there at the end: its flags (docs/lab.md)
    pivot = " --copy-credentials --controller host" if any(x.pivot for x in topology.layers) else ""
    console.print(
        f"lab [bold]{topology.name}[/] is up: {len(topology.nodes)} machines, powered off, behind "
        f"Redfish BMCs at {', '.join(network.bmc_hosts)}, in network namespace {network.namespace}\n"
        f"provision them:\n  ip netns exec {network.namespace} strata apply -f {file} "
        f"--listen {network.gateway}:8080 --dhcp-interface {BRIDGE}{pivot}\n"
        f"consoles: {work}/<node>.console.log; stop with: strata lab down -f {file}"
    )


@lab.command()
@TOPOLOGY
@IMAGE_CACHE
def artifacts(file: Path, image_cache: Path) -> None:
    """Put the lab's stand-in OS into FILE's artifact mirror (what `lab up` does first)."""
    _stand_ins(file, topology_or_exit(file), image_cache, make_console(stderr=True))
    click.echo(f"the lab's stand-in OS is in {default_artifacts(file)}")


def _stand_ins(file: Path, topology: Topology, image_cache: Path, console: Console) -> None:
    """The stand-in OS under the file names of each OS FILE (``topology``) asks for, and
    stand-ins of the Kubernetes pieces its layers fetch, in FILE's artifact mirror."""
    with console.status("building the lab's stand-in OS image (Debian kernel, busybox)"):
        kernel, initrd = build_image(image_cache)
    for os_name, version in sorted({(n.os.name, n.os.version) for n in topology.nodes}):
        install_image(kernel, initrd, default_artifacts(file), os_name, version)
    stand_in_kube_artifacts(default_artifacts(file), build_plan(topology))


def _start_daemons(
    network: LabNetwork, file: Path, work: Path, seed: Path | None, flags: list[str]
) -> None:
    """The BMC service (given ``flags``: the BMC features left out) and the machines'
    Kubernetes stand-in, inside the namespace."""
    python = (sys.executable, "-m")
    bmc = [*network.inside, *python, "strata.lab.daemon", "--file", str(file.resolve())]
    bmc += ["--seed", str(seed.resolve())] if seed is not None else []
    bmc += flags
    _start_daemon("daemon", [*bmc, "--workdir", str(work.resolve())], work, network)
    # nsenter, not `ip netns exec` (which hides the cgroups the kubelets need under a
    # namespace's sysfs); unshare: the kubelets' mounts die with the daemon
    kube = [
        "nsenter",
        f"--net=/run/netns/{network.namespace}",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        *python,
        "strata.lab.kube_daemon",
        f"--listen={network.gateway}:{HANDOFF_PORT}",
        f"--bridge={BRIDGE}",
        f"--workdir={work.resolve()}",
        f"--run-dir=/run/strata-lab/{network.namespace}",
    ]
    _start_daemon("kube-daemon", kube, work, network)


def _start_daemon(name: str, command: list[str], work: Path, network: LabNetwork) -> None:
    """Starts ``command`` detached (log ``<name>.log``, pid ``<name>.pid``); back once it
    wrote its ready file (``ready`` / ``kube-ready``)."""
    ready = work / ("ready" if name == "daemon" else "kube-ready")
    ready.unlink(missing_ok=True)
    daemon = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=(work / f"{name}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (work / f"{name}.pid").write_text(f"{daemon.pid}\n")
    deadline = time.monotonic() + 30
    while not ready.exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            _stop_daemons(work)
            network.delete()
            log = (work / f"{name}.log").read_text(errors="replace")[-1500:]
            raise click.ClickException(f"the lab's {name} did not start:\n{log}")
        time.sleep(0.1)


def _stop_daemons(work: Path) -> None:
    for name in ("kube-daemon", "daemon"):
        pid_file = work / f"{name}.pid"
        if pid_file.exists():
            _stop(int(pid_file.read_text()))
            pid_file.unlink()


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
    _stop_host_controllers(default_state(file).parent)
    _stop_daemons(workdir(file))
    _sweep(workdir(file))
    network.delete()
    shutil.rmtree(f"/run/strata-lab/{network.namespace}", ignore_errors=True)
    click.echo(f"lab {topology.name} is down")


def _stop_host_controllers(state_dir: Path) -> None:
    """The controller a pivot started on this host against the lab's cluster (``strata
    apply --controller host``: its pid file beside the state, ``strata.pivot.resume``)."""
    from strata.pivot.resume import running

    for pid_file in state_dir.glob("controller-*.pid"):
        pid = running(pid_file)
        if pid is not None:
            _stop(pid)


def _sweep(work: Path) -> None:
    """Kills what still runs from the lab's directory (a daemon that had to be killed
    leaves its children only a death signal they may take seconds to act on)."""
    import psutil

    marker = str(work.resolve())
    for process in psutil.process_iter(["pid", "cmdline"]):
        if any(marker in part for part in process.info["cmdline"] or ()):
            with contextlib.suppress(psutil.Error):
                process.kill()


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60  # the Kubernetes stand-in stops its kubelets first
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
