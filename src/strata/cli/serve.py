"""`strata serve FILE` (the boot service on the embedded store) and `strata artifacts import`."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click

from strata.boot import BootService, import_artifacts
from strata.boot.dhcp import LOG as DNSMASQ_LOG
from strata.boot.dhcp import Dnsmasq
from strata.boot.fragments import FragmentError
from strata.boot.kube_content import KubeSource
from strata.boot.runner import (
    BootRunner,
    BootStartFailed,
    boot_content,
    boot_service,
    dnsmasq_for,
)
from strata.cli.common import (
    ARTIFACTS,
    FILE_OPTION,
    STATE,
    TOPOLOGY,
    check_topology,
    default_artifacts,
    default_state,
    topology_or_exit,
)
from strata.cli.render import diagnostics_text, make_console
from strata.cli.web_face import web_face
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.store.fence import move_holding
from strata.topology import Topology

__all__ = [
    "artifacts",
    "listen_address",
    "reach_url",
    "serve",
]


@click.command()
@TOPOLOGY
@click.option("--listen", default="0.0.0.0:8080", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--url",
    help="How machines reach this service, e.g. http://192.168.110.2:8080 [the listen address, "
    "or this host's address on the provisioning network when listening on all].",
)
@STATE
@ARTIFACTS
@click.option(
    "--provision",
    multiple=True,
    metavar="NODE",
    help="Start a provisioning attempt for NODE (repeatable).",
)
@click.option(
    "--attempt-minutes",
    default=60,
    show_default=True,
    help="How long a provisioning attempt's tokens live.",
)
@click.option(
    "--dhcp-interface",
    metavar="IFACE",
    help="Also run dnsmasq for the provisioning network on IFACE.",
)
@click.option(
    "--dhcp-proxy",
    is_flag=True,
    help="With --dhcp-interface: proxy-DHCP (another server hands out addresses).",
)
@click.option(
    "--web-listen",
    metavar="HOST:PORT",
    help="Also serve the web face (Prometheus /metrics; docs/web.md) on HOST:PORT, "
    "e.g. 127.0.0.1:9464; it answers loopback clients only.",
)
def serve(
    file: Path,
    listen: str,
    url: str | None,
    state: Path | None,
    artifact_dir: Path | None,
    provision: tuple[str, ...],
    attempt_minutes: int,
    dhcp_interface: str | None,
    dhcp_proxy: bool,
    web_listen: str | None,
) -> None:
    """Run the boot service for FILE: iPXE scripts, Ignition configs, phone-home, artifacts.

    The boot side of a run, as `strata apply` starts it beside its controller (the same
    ``BootRunner``), in the foreground until SIGTERM or Ctrl-C; no controller runs here,
    so no writer lease is taken (`strata apply --no-serve` holds it)."""
    topology = topology_or_exit(file)
    store = SQLiteStore(state or default_state(file))
    _refuse_moved(store)
    host, port = listen_address(listen)
    unknown = [n for n in provision if n not in {node.name for node in topology.nodes}]
    if unknown:
        raise click.BadParameter(f"not in {file}: {', '.join(unknown)}", param_hint="--provision")
    base = reach_url(topology, host, port, url, dhcp_interface)
    plan = build_plan(topology)  # the one plan the service and dnsmasq serve
    mirror = artifact_dir or default_artifacts(file)
    web_at = listen_address(web_listen, "--web-listen") if web_listen else None
    dhcp_log = store.path.parent / "dhcp" / DNSMASQ_LOG if dhcp_interface else None
    face = web_face(store, plan, *web_at, dhcp_log) if web_at else None
    metrics = face.boot if face else None
    service = boot_service(plan, topology, store, store.token_key(), base, mirror, metrics=metrics)
    dhcp = None
    if dhcp_interface is not None:
        directory = store.path.parent / "dhcp"
        dhcp = dnsmasq_for(plan, topology, dhcp_interface, base, directory, dhcp_proxy)
    _preflight(file, service, provision)
    for node in provision:
        store.begin_attempt(node, lifetime=attempt_minutes * 60)
    runner = BootRunner(service, host, port, dhcp)
    make_console(stderr=True).print(
        f"boot service for [bold]{topology.name}[/]: {len(topology.nodes)} nodes, "
        f"{len(service.assets)} artifacts; provisioning: {', '.join(provision) or 'none'}; "
        f"{runner.describe()}"
    )
    if face is not None:
        face.runner.start()
    try:
        _run_until_stopped(runner, lambda: _reload(file, service, store, dhcp), _mover(store))
    finally:
        if face is not None:
            face.runner.stop()


def _run_until_stopped(
    runner: BootRunner, reload: Callable[[], None], moved: Callable[[], str | None]
) -> None:
    """Start ``runner``; SIGHUP calls ``reload``; SIGTERM or SIGINT stops it cleanly
    (dnsmasq stops, the server drains) and the command exits 0 — and so does the state
    moving elsewhere (``moved`` says where: docs/pivot.md, "Resume and the handover")."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGHUP, lambda *_: reload())
    runner.start()
    try:
        while not stopping.wait(0.5):
            if not runner.running:
                raise BootStartFailed("the boot service stopped on its own")
            where = moved()
            if where is not None:
                make_console(stderr=True).print(
                    f"the management plane moved: {where}; this boot service and its DHCP "
                    "stop here (the new plane's boot service takes over its address)",
                    soft_wrap=True,
                )
                return
    finally:
        runner.stop()


def _refuse_moved(store: SQLiteStore) -> None:
    """A state that moved elsewhere starts no boot service nor dnsmasq beside the new
    plane's (exit 2, saying where it lives)."""
    writer = store.writer()
    if writer is not None and move_holding(writer[0]) == "moved":
        click.echo(
            f"error: the management plane moved: {writer[0]}; no boot service starts here "
            "(`strata pivot --back` brings it home)",
            err=True,
        )
        sys.exit(2)


def _mover(store: SQLiteStore) -> Callable[[], str | None]:
    """Reads the writer lease: the holder once the state has moved (None before); a
    move's freeze is said once (its writes are answered 503 meanwhile: boot/frozen.py)."""
    said: set[str] = set()

    def moved() -> str | None:
        writer = store.writer()
        holder = writer[0] if writer is not None else ""
        held = move_holding(holder)
        if held == "moving" and holder not in said:
            said.add(holder)
            make_console(stderr=True).print(
                f"a move holds the state ({holder}): writes are answered 503 until it ends",
                soft_wrap=True,
            )
        return holder if held == "moved" else None

    return moved


def _preflight(file: Path, service: BootService, provision: tuple[str, ...]) -> None:
    """Say which installs would fetch a missing artifact; refuse (exit 2) to start an
    attempt (--provision) for a node among them."""
    from strata.boot.preflight import missing_artifacts

    console = make_console(stderr=True)
    refused = []
    for gap in missing_artifacts(service.content.plan.nodes, service.assets):
        console.print(
            f"[yellow]warning[/]: artifacts missing for {gap.describe(file)}", soft_wrap=True
        )
        refused += [n for n in gap.nodes if n in provision]
    if refused:
        console.print(
            f"[red]error[/]: not provisioning {', '.join(refused)}: its installer would fetch files the mirror lacks"
        )
        sys.exit(2)


def listen_address(listen: str, option: str = "--listen") -> tuple[str, int]:
    """``HOST:PORT`` as (host, port): an empty host is every address (``0.0.0.0``), an
    IPv6 host is given in brackets (``[::1]:8080``, RFC 3986 §3.2.2) and returned
    without them. Raises click.BadParameter, naming ``option``, when there is no port (in
    ASCII digits) or it is outside 1-65535, or an IPv6 address is not in brackets."""
    if listen.startswith("[") and listen.endswith("]"):
        raise click.BadParameter(f"{listen!r}: give [ADDRESS]:PORT", param_hint=option)
    host, _, port = listen.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
        if not host:
            raise click.BadParameter(f"{listen!r}: no address in the brackets", param_hint=option)
    if "[" in host or "]" in host or (":" in host and not bracketed):
        raise click.BadParameter(
            f"{listen!r}: an IPv6 address goes in brackets: [ADDRESS]:PORT", param_hint=option
        )
    if not (port.isascii() and port.isdigit()):
        raise click.BadParameter(f"{listen!r}: give HOST:PORT", param_hint=option)
    if not 1 <= int(port) <= 65535:
        raise click.BadParameter(
            f"{listen!r}: the port must be 1-65535, not {int(port)}", param_hint=option
        )
    return host or "0.0.0.0", int(port)


def reach_url(
    topology: Topology, host: str, port: int, url: str | None, dhcp_interface: str | None
) -> str:
    """The URL machines on the provisioning network are given (``strata.boot.reach``);
    says at start how it was chosen and whom it cannot reach; exits 2 when there is none."""
    from strata.boot.reach import boot_url

    network = next(n for n in topology.networks.values() if n.purpose == "provisioning")
    console = make_console(stderr=True)
    chosen = boot_url(host, port, network, url, dhcp_interface)  # NoBootURL: exit 2
    if chosen.warning:
        console.print(f"[yellow]warning[/]: {chosen.warning}", soft_wrap=True)
    console.print(f"machines reach the boot service at {chosen.url} ({chosen.how})", soft_wrap=True)
    return chosen.url


def _reload(file: Path, service: BootService, store: SQLiteStore, dhcp: Dnsmasq | None) -> None:
    """SIGHUP: read topology.yaml again; a valid file replaces the plan (and every cached
    script and config), an invalid one is reported and the running plan kept."""
    console = make_console(stderr=True)
    checked = check_topology(file)  # as validate checks it, fragments as Ignition included
    if checked.topology is None:
        diagnostics_text(console, checked.errors)
        console.print(f"reload: {file} is invalid; still serving the previous plan")
        return
    old, plan = service.content, build_plan(checked.topology)
    try:
        kube = KubeSource(plan, store, service.assets.root, old.base_url)
        content = boot_content(plan, checked.topology, old.base_url, old.signer, kube)
    except FragmentError as exc:
        console.print(f"reload: {exc}; still serving the previous plan")
        return
    service.reload(content)
    if dhcp is not None:
        dhcp.reload(plan)
    console.print(f"reload: {len(plan.nodes)} nodes from {file}")


@click.group()
def artifacts() -> None:
    """The artifact mirror that machines install from."""


@artifacts.command("import")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--os",
    "os_name",
    required=True,
    type=click.Choice(["flatcar", "fcos", "rhcos", "kubernetes", "k3s"]),
    help="An OS, or the Kubernetes pieces of a kubeadm (kubernetes) or k3s release.",
)
@click.option("--version", required=True)
@FILE_OPTION
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    help="The mirror [FILE's dir/artifacts: where serve and apply read].",
)
def import_command(source: Path, os_name: str, version: str, file: Path, into: Path | None) -> None:
    """Copy an OS version's kernel, initramfs, rootfs, ISO and disk image from SOURCE into the
    mirror, verifying each against the digests its project publishes in SOURCE (SHA256SUMS,
    sha256sum.txt, Flatcar's NAME.DIGESTS, NAME.sha256, FCOS stream metadata)."""
    from strata.boot.kube_artifacts import KUBE_DIRECTORIES, import_kube_artifacts, kube_release

    mirror = into or default_artifacts(file)
    if os_name in KUBE_DIRECTORIES:  # filed under the release's tag: 1.31.2 -> v1.31.2
        version = kube_release(os_name, version)
        names = import_kube_artifacts(source, mirror, os_name, version)
    else:
        names = import_artifacts(source, mirror, os_name, version)
    for name in names:
        click.echo(f"imported {os_name}/{version}/{name} into {mirror}")
