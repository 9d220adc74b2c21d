"""`strata controller`: the in-cluster controller. Lists the Topology objects of one
namespace every --resync seconds and drives each one's servers as `strata apply` does (``strata.operator``).

Configured like other operators: flags, each with a ``STRATA_*`` environment variable
(a Deployment sets those), the API server from --kubeconfig, else the pod's service
account, else ``$KUBECONFIG``; ``/healthz`` and ``/readyz`` on --health-addr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from strata.cli.logs import hide_tokens
from strata.cli.serve import listen_address
from strata.controller import State
from strata.controller.manager import Beside
from strata.controller.reconciler import DriverSource
from strata.plan import Plan
from strata.store import Store
from strata.topology import Topology

if TYPE_CHECKING:
    from strata.cli.controller_face import ControllerFace
    from strata.web.metrics import BootMetrics

__all__ = ["controller", "dhcp_directory"]

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


@click.command()
@click.option(
    "--kubeconfig",
    envvar="STRATA_KUBECONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The API server's kubeconfig [in a pod: its service account; else $KUBECONFIG].",
)
@click.option(
    "--namespace",
    envvar="STRATA_NAMESPACE",
    help="Where the Topology objects are [the pod's namespace, else default].",
)
@click.option(
    "--identity",
    envvar="STRATA_IDENTITY",
    help="This replica's name, in leases and Events [$POD_NAME, else the host name].",
)
@click.option(
    "--lease-duration",
    envvar="STRATA_LEASE_DURATION",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds a dead replica's lease holds its servers.",
)
@click.option(
    "--health-addr",
    envvar="STRATA_HEALTH_ADDR",
    default="0.0.0.0:8081",
    show_default=True,
    help="Where /healthz and /readyz answer.",
)
@click.option(
    "--listen",
    envvar="STRATA_LISTEN",
    default="0.0.0.0:8080",
    show_default=True,
    help="Where the boot service listens.",
)
@click.option(
    "--url",
    envvar="STRATA_URL",
    help="How machines reach the boot service (default: from --listen).",
)
@click.option(
    "--no-serve", envvar="STRATA_NO_SERVE", is_flag=True, help="The boot service runs elsewhere."
)
@click.option(
    "--dhcp-interface",
    envvar="STRATA_DHCP_INTERFACE",
    metavar="IFACE",
    help="Also run dnsmasq (DHCP, TFTP, the PXE chain) on IFACE.",
)
@click.option(
    "--artifacts",
    "artifact_dir",
    envvar="STRATA_ARTIFACTS",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/lib/strata/artifacts"),
    show_default=True,
    help="The artifact mirror the boot service serves.",
)
@click.option(
    "--dhcp-dir",
    envvar="STRATA_DHCP_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="dnsmasq's configuration, hosts and leases [dhcp beside --artifacts].",
)
@click.option(
    "--until",
    envvar="STRATA_UNTIL",
    type=click.Choice(["provisioned", "joined"]),
    default="joined",
    show_default=True,
    help="Where each server is taken.",
)
@click.option(
    "--timeout",
    "timeouts",
    envvar="STRATA_TIMEOUT",
    multiple=True,
    metavar="PHASE=SECONDS",
    help="A phase's time limit, e.g. joining=3600 (repeatable; in the variable, "
    "separated by spaces).",
)
@click.option(
    "--concurrency",
    envvar="STRATA_CONCURRENCY",
    default=32,
    show_default=True,
    help="BMC operations in flight at once, per Topology.",
)
@click.option(
    "--resync",
    envvar="STRATA_RESYNC",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds between two reads of the Topology objects.",
)
@click.option(
    "--shards",
    envvar="STRATA_SHARDS",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Racks are split into this many shards, each held by one replica through its own "
    "Lease (the same on every replica). Each replica reads and writes each shard it holds "
    "every third of --lease-duration: a few per replica suffice (at most 256).",
)
@click.option(
    "--web-listen",
    envvar="STRATA_WEB_LISTEN",
    metavar="HOST:PORT",
    help="Serve the web face here: each Topology's dashboard, REST API and metrics at "
    "/topologies/NAME/, for clients the cluster's own auth allows (docs/web.md).",
)
@click.option(
    "--state-dir",
    envvar="STRATA_STATE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the servers' records in SQLite files here (one per Topology) "
    "instead of Server objects.",
)
def controller(
    kubeconfig: Path | None,
    namespace: str | None,
    identity: str | None,
    lease_duration: float,
    health_addr: str,
    listen: str,
    url: str | None,
    no_serve: bool,
    dhcp_interface: str | None,
    artifact_dir: Path,
    dhcp_dir: Path | None,
    until: str,
    timeouts: tuple[str, ...],
    concurrency: int,
    resync: float,
    shards: int,
    web_listen: str | None,
    state_dir: Path | None,
) -> None:
    """Run the in-cluster controller: list Topology objects every --resync seconds,
    validate, plan and drive every server as `strata apply` does; status and Events on
    each object."""
    from strata.cli.apply import parse_timeouts
    from strata.operator.health import HealthServer
    from strata.operator.resources import kube_client
    from strata.operator.run import Operator, Settings
    from strata.operator.shards import Shards

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    hide_tokens()
    namespace = namespace or _namespace()
    identity = identity or os.environ.get("POD_NAME") or socket.gethostname()
    settings = Settings(
        namespace,
        identity,
        State(until),
        concurrency,
        lease_duration,
        resync,
        timeouts=parse_timeouts(timeouts),
    )
    web_at = listen_address(web_listen, "--web-listen") if web_listen else None
    client = kube_client(kubeconfig, namespace)
    dhcp = (dhcp_interface, dhcp_dir or dhcp_directory(artifact_dir))
    boot = None if no_serve else (listen_address(listen), url, dhcp, artifact_dir)
    face = _face(client, namespace, identity, web_at) if web_at else None
    operator = Operator(
        client,
        settings,
        _stores(state_dir, kubeconfig, namespace),
        _beside(boot, settings.target, face),
        _drivers(client, namespace, face),
        Shards(client, namespace, identity, shards, lease_duration),
        face,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    health = HealthServer(
        *listen_address(health_addr, "--health-addr"),
        live=lambda: (
            None if time.monotonic() - operator.beat < 10 * resync + 30 else "loop stalled"
        ),
        ready=operator.ready,
    )
    health.start()
    if face is not None:
        face.runner.start()  # WebStartFailed: said, exit 1
    click.echo(
        f"strata controller {identity}: namespace {namespace}, health on {health_addr}"
        + (f", web face on {web_listen}" if face is not None else ""),
        err=True,
    )
    try:
        operator.run(stop)
    finally:
        if face is not None:
            face.stop()
        health.stop()


def _face(client: Any, namespace: str, identity: str, at: tuple[str, int]) -> ControllerFace:
    from strata.cli.controller_face import ControllerFace
    from strata.operator.reviews import KubeReviewer

    return ControllerFace(KubeReviewer(client), namespace, f"strata controller {identity}", *at)


def _stores(state_dir: Path | None, kubeconfig: Path | None, namespace: str) -> Any:
    def open_store(topology: str) -> Store:
        if state_dir is not None:
            from strata.store import SQLiteStore

            state_dir.mkdir(parents=True, exist_ok=True)
            return SQLiteStore(state_dir / f"{topology}.db")
        from strata.store.kube_store import KubeStore

        # the boot service's attempt reads from the API server's watch cache, not etcd
        # (KubeStore's cached_attempts; docs/benchmarks.md, "Towards 50 nodes/s")
        return KubeStore.from_kubeconfig(kubeconfig, namespace, topology, cached_attempts=True)

    cache: dict[str, Store] = {}

    def cached(topology: str) -> Store:
        if topology not in cache:
            cache[topology] = open_store(topology)
        return cache[topology]

    return cached


def _beside(
    boot: tuple[tuple[str, int], str | None, tuple[str | None, Path], Path] | None,
    target: State,
    face: ControllerFace | None,
) -> Any:
    """What runs beside each run: the boot service (and dnsmasq) unless --no-serve, its
    requests counted on the Topology's web face, and each layer's watch of Nodes when
    the target is joined."""

    def beside(plan: Plan, topology: Topology, store: Store) -> Sequence[Beside]:
        parts: list[Beside] = []
        joining = target is State.JOINED
        if joining:
            from strata.cli.joining import keep_materials, node_watcher

            materials = keep_materials(plan, cast(Any, store))
        if boot is not None:
            shown = face.metrics(topology.name) if face is not None else None
            parts.append(_boot_side(plan, topology, store, *boot, shown.boot if shown else None))
        if joining:
            parts.append(node_watcher(plan, cast(Any, store), materials))
        return parts

    return beside


def _boot_side(
    plan: Plan,
    topology: Topology,
    store: Store,
    listen: tuple[str, int],
    url: str | None,
    dhcp_at: tuple[str | None, Path],
    mirror: Path,
    metrics: BootMetrics | None,
) -> Beside:
    from strata.boot.reach import boot_url
    from strata.boot.runner import BootRunner, boot_service, dnsmasq_for

    dhcp_interface, dhcp_dir = dhcp_at
    network = next(n for n in topology.networks.values() if n.purpose == "provisioning")
    base = boot_url(listen[0], listen[1], network, url, dhcp_interface).url
    state = cast(Any, store)
    service = boot_service(
        plan, topology, state, state.token_key(), base, mirror, JOURNAL_LINGER, metrics
    )
    dhcp = None
    if dhcp_interface is not None:
        dhcp = dnsmasq_for(plan, topology, dhcp_interface, base, dhcp_dir, False)
    return BootRunner(service, *listen, dhcp)


# Seconds the boot service's log entries wait for more before they are written: each write
# is an API request (an append to a log segment), and at fleet scale one request then
# carries the entries of dozens of machines; a boot request is answered that much later,
# which neither a machine nor the controller (reading the log every 0.25 s) notices.
JOURNAL_LINGER = 0.05


def dhcp_directory(mirror: Path) -> Path:
    """Where dnsmasq's configuration, hosts and leases are written: beside the artifact
    mirror (``/var/lib/strata/dhcp`` by default; deploy/deployment.yaml mounts it)."""
    return mirror.parent / "dhcp"


def _drivers(client: Any, namespace: str, face: ControllerFace | None) -> Any:
    """Each Topology's BMC drivers, their calls counted on its web face; a password in a
    Kubernetes Secret is read through ``client`` (the Secret in the reference's
    namespace, else ``namespace``)."""
    from strata.bmc import BMCPool, DriverSettings
    from strata.operator.secrets import secret_reader

    read_secret = secret_reader(client, namespace)

    @contextlib.contextmanager
    def drivers(topology: Topology) -> Iterator[DriverSource]:
        metrics = face.metrics(topology.name) if face is not None else None
        settings = DriverSettings(observe=metrics.bmc.observe if metrics else None)
        with BMCPool(topology, settings, read_secret=read_secret) as pool:
            yield pool

    return drivers
