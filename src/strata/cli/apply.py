"""`strata apply FILE`: show the plan, then drive every node to its target."""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from strata.bmc import BMCPool, DriverSettings
from strata.boot.dhcp import LOG as DNSMASQ_LOG
from strata.boot.media import media_links, media_refusal
from strata.boot.runner import BootRunner, boot_service, dnsmasq_for
from strata.cli.apply_pivot import (
    PIVOT_OPTIONS,
    AfterApply,
    consent_refusals,
    held_line,
    pivot_after_apply,
    run_flags,
)
from strata.cli.common import (
    ARTIFACTS,
    STATE,
    TOPOLOGY,
    default_artifacts,
    default_state,
    topology_or_exit,
)
from strata.cli.progress import JsonLines, LiveView, PlainLines
from strata.cli.render import make_console, pivot_line, plan_counts
from strata.cli.serve import listen_address, reach_url
from strata.cli.web_face import WebFace, observed, web_face
from strata.controller import ApplyOptions, State, Summary, Timeouts, recorded
from strata.controller.manager import Beside, Manager
from strata.plan import ChangeKind, ClusterPlan, NodePlan, Plan, build_plan
from strata.store import SQLiteStore
from strata.topology import Topology
from strata.web.metrics import BootMetrics

__all__ = ["apply", "parse_timeouts"]


def parse_timeouts(values: tuple[str, ...]) -> Timeouts:
    """``--timeout PHASE=SECONDS`` values as ``Timeouts``; ``click.BadParameter`` naming
    a value that is not PHASE=SECONDS or a phase that does not exist."""
    overrides: dict[str, float] = {}
    for value in values:
        phase, _, seconds = value.partition("=")
        try:
            overrides[phase] = float(seconds)
        except ValueError:
            raise click.BadParameter(
                f"{value}: give PHASE=SECONDS", param_hint="--timeout"
            ) from None
    try:
        return Timeouts().with_overrides(overrides)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timeout") from None


@click.command()
@TOPOLOGY
@STATE
@click.option(
    "--listen", default="0.0.0.0:8080", show_default=True, help="Where the boot service listens."
)
@click.option("--url", help="How machines reach the boot service (default: from --listen).")
@click.option(
    "--no-serve",
    is_flag=True,
    help="The boot service runs elsewhere (`strata serve`) on the same state file.",
)
@click.option(
    "--dhcp-interface",
    metavar="IFACE",
    help="Also run dnsmasq (DHCP, TFTP, the PXE chain) for the provisioning network on IFACE.",
)
@ARTIFACTS
@click.option(
    "--concurrency", default=32, show_default=True, help="BMC operations in flight at once."
)
@click.option(
    "--timeout",
    "timeouts",
    multiple=True,
    metavar="PHASE=SECONDS",
    help="A phase's time limit, e.g. booting=900 (repeatable).",
)
@click.option(
    "--allow-reprovision",
    multiple=True,
    metavar="NODE",
    help="Consent to reinstall NODE although it is provisioned (repeatable).",
)
@click.option(
    "--prune", is_flag=True, help="Power off nodes removed from FILE (their records are kept)."
)
@click.option(
    "--until",
    type=click.Choice(["provisioned", "joined"]),
    default="joined",
    show_default=True,
    help="The run's target: joined (Kubernetes installed, each node Ready in its layer's "
    "cluster), or provisioned (the OS installed, booting its disk: no Kubernetes).",
)
@click.option(
    "--no-pivot",
    is_flag=True,
    help="Keep the management plane here: no move into the cluster of the layer marked "
    "pivot: true once it is joined (`strata pivot` does it later).",
)
@PIVOT_OPTIONS
@click.option(
    "--seed-node",
    metavar="NODE",
    help="NODE is the machine this runs on (the seed's, `strata seed start`): held, "
    "untouched, until the pivot, which hands it to the cluster's controller to reinstall.",
)
@click.option(
    "--web-listen",
    metavar="HOST:PORT",
    help="Also serve the web face (Prometheus /metrics; docs/web.md) on HOST:PORT, "
    "e.g. 127.0.0.1:9464; it answers loopback clients only.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["auto", "live", "plain", "json"]),
    default="auto",
    show_default=True,
    help="auto: live in a terminal, plain lines otherwise.",
)
def apply(
    file: Path,
    state: Path | None,
    listen: str,
    url: str | None,
    no_serve: bool,
    dhcp_interface: str | None,
    artifact_dir: Path | None,
    concurrency: int,
    timeouts: tuple[str, ...],
    allow_reprovision: tuple[str, ...],
    prune: bool,
    until: str,
    no_pivot: bool,
    controller: str,
    copy_credentials: bool,
    leave_credentials: bool,
    seed_node: str | None,
    web_listen: str | None,
    output: str,
) -> None:
    """Provision FILE's datacenter: every node from declared to joined, Ready in its
    layer's cluster (or to provisioned, with --until provisioned), or failed.

    Then, once the layer marked pivot: true is joined, the management plane moves into
    its cluster (`strata pivot --to LAYER`; not with --no-pivot)."""
    topology = topology_or_exit(file)
    unknown = sorted(set(allow_reprovision) - {n.name for n in topology.nodes})
    if unknown:
        raise click.BadParameter(
            f"not in {file}: {', '.join(unknown)}", param_hint="--allow-reprovision"
        )
    if seed_node is not None and seed_node not in {n.name for n in topology.nodes}:
        raise click.BadParameter(f"not in {file}: {seed_node}", param_hint="--seed-node")
    if seed_node is not None:  # before the state file is made
        _check_seed_node(build_plan(topology), seed_node)
    host, port = listen_address(listen)  # before the state file is made
    web_at = listen_address(web_listen, "--web-listen") if web_listen else None
    options = ApplyOptions(
        concurrency=concurrency,
        timeouts=parse_timeouts(timeouts),
        allow_reprovision=frozenset(allow_reprovision),
        prune=prune,
        target=State(until),
        seed_node=seed_node,
    )
    mirror = artifact_dir or default_artifacts(file)
    flags = run_flags(listen, url, dhcp_interface, no_serve, mirror, until, timeouts)
    after = AfterApply.of(controller, copy_credentials, leave_credentials, flags)
    state = state or default_state(file)
    store = SQLiteStore(state)
    err = make_console(stderr=True)
    mode = output if output != "auto" else ("live" if Console().is_terminal else "plain")
    base = None if no_serve else reach_url(topology, host, port, url, dhcp_interface)
    dhcp_log = store.path.parent / "dhcp" / DNSMASQ_LOG if dhcp_interface else None
    if base is not None:  # the controller hands BMCs links to virtual media images
        options = dataclasses.replace(options, media_url=media_links(base, store.token_key))
    # the lease before anything listens: a second apply is told who drives the datacenter
    with Manager(store, options) as manager:
        plan = build_plan(topology, *recorded(store))  # the run's one plan
        face = web_face(store, plan, *web_at, dhcp_log) if web_at else None
        _show_plan(err, plan, options)
        pivot = pivot_line(plan, options.target is State.JOINED, no_pivot)
        if pivot is not None:
            err.print(escape(pivot), soft_wrap=True)
        pivoting = pivot is not None and options.target is State.JOINED and not no_pivot
        if seed_node is not None:
            _show_seed_node(err, plan, seed_node, pivoting)
        held = _pivot_held(err, file, plan, after) if pivoting else []
        joining = options.target is State.JOINED
        beside: list[Beside] = []
        if base is not None:  # with --no-serve the mirror is the other service's to check
            clusters = plan.clusters if joining else ()
            _preflight(err, file, _to_install(plan, store, options), mirror, clusters, base)
        if joining:  # the layers' material before the boot side serves it
            from strata.cli.joining import keep_materials, node_watcher

            materials = keep_materials(plan, store)
        if face is not None:
            beside.append(face.runner)
        if base is not None:
            metrics = face.boot if face else None
            beside.append(
                _boot_side(
                    plan, topology, store, (host, port), base, mirror, dhcp_interface, metrics
                )
            )
        if joining:
            beside.append(node_watcher(plan, store, materials))
        summary = _run(manager, topology, plan, beside, mode, face)  # the boot side stopped
    _report(err, summary)  # and the lease released: the move takes it
    if summary.ok and pivoting and held:
        err.print(escape(held_line(file, plan)), soft_wrap=True)
    elif summary.ok and pivoting:
        say = lambda line: err.print(escape(line), soft_wrap=True)  # noqa: E731
        sys.exit(pivot_after_apply(file, state, plan, after, say, seed_node))
    sys.exit(0 if summary.ok else 1)


def _run(
    manager: Manager,
    topology: Topology,
    plan: Plan,
    beside: list[Beside],
    mode: str,
    face: WebFace | None,
) -> Summary:
    settings = DriverSettings(observe=face.bmc.observe if face else None)
    lag = face.loop.observe if face else None
    with BMCPool(topology, settings) as pool:
        run = functools.partial(manager.reconcile, plan, pool, beside, observe_lag=lag)
        if mode == "json":
            return run(observed(JsonLines(), face))
        if mode == "plain":
            return run(observed(PlainLines(make_console()), face))
        with LiveView(make_console(), f"strata apply {topology.name}") as view:
            return run(observed(view, face))


def _boot_side(
    plan: Plan,
    topology: Topology,
    store: SQLiteStore,
    listen: tuple[str, int],
    base: str,
    mirror: Path,
    dhcp_interface: str | None,
    metrics: BootMetrics | None,
) -> BootRunner:
    """The boot service (and dnsmasq) for the run's plan, started by the manager;
    ``metrics``: where its requests are counted (the web face's)."""
    service = boot_service(plan, topology, store, store.token_key(), base, mirror, metrics=metrics)
    dhcp = None
    if dhcp_interface is not None:
        dhcp = dnsmasq_for(plan, topology, dhcp_interface, base, store.path.parent / "dhcp", False)
    runner = BootRunner(service, *listen, dhcp)
    make_console(stderr=True).print(f"boot service: {runner.describe()}")
    return runner


def _pivot_held(err: Console, file: Path, plan: Plan, after: AfterApply) -> list[str]:
    """What holds the pivot at the end, said with the plan, as a reinstall held for
    consent is: the person's word on BMC credentials read on this machine not given
    (--copy-credentials, --leave-credentials), or a credential that cannot be read.
    The run goes on; the move is then not made."""
    held = consent_refusals(file, plan.topology, after)
    for text in held:
        err.print(f"  [yellow]pivot held[/]: {escape(text)}", soft_wrap=True)
    return held


def _to_install(plan: Plan, store: SQLiteStore, options: ApplyOptions) -> list[NodePlan]:
    """The nodes this apply may install: all but those provisioned, joined or found
    running, unless the person consented to reinstall them."""
    states = {n.name: n.state for n in store.summaries()}
    settled = {State.PROVISIONED, State.JOINED, State.FOUND_RUNNING}
    return [
        p
        for p in plan.nodes
        if states.get(p.name) not in settled or p.name in options.allow_reprovision
    ]


def _preflight(
    err: Console,
    file: Path,
    nodes: list[NodePlan],
    mirror: Path,
    clusters: Sequence[ClusterPlan],
    base: str,
) -> None:
    """Exit 2, before any server is powered on, when an install would fetch a missing file
    (the Kubernetes pieces of ``clusters`` included) or a virtual media image could not
    be made or read (``media_refusal``; ``base``: the boot service's URL)."""
    from strata.boot import AssetIndex
    from strata.boot.preflight import missing_artifacts

    missing = missing_artifacts(nodes, AssetIndex(mirror), clusters)
    for gap in missing:
        err.print(f"[red]error[/]: artifacts missing for {gap.describe(file)}", soft_wrap=True)
    media = media_refusal(nodes, base_url=base)
    if media is not None:
        err.print(f"[red]error[/]: {escape(media)}", soft_wrap=True)
    if missing or media:
        err.print("nothing was powered on; install or import what is missing, then apply again")
        sys.exit(2)


def _check_seed_node(plan: Plan, node: str) -> None:
    from strata.seed.handover import seed_node_refusal

    refused = seed_node_refusal(plan, node)
    if refused is not None:  # before any BMC is called
        raise click.BadParameter(refused, param_hint="--seed-node")


def _show_seed_node(console: Console, plan: Plan, node: str, pivoting: bool) -> None:
    from strata.cli.pivot_layer import pivot_layer
    from strata.seed.handover import held_line as seed_line

    layer = pivot_layer(plan)
    line = seed_line(node, layer.name if layer else None, skipped=not pivoting)
    console.print(f"  {escape(line)}", soft_wrap=True)


def _show_plan(console: Console, plan: Plan, options: ApplyOptions) -> None:
    console.print(f"plan for {plan.topology}: {plan_counts(plan)}")
    for action in plan.actions:
        if action.kind is ChangeKind.REPROVISION and action.node not in options.allow_reprovision:
            console.print(f"  {action.node}: reprovision held (--allow-reprovision {action.node})")
        elif action.kind is ChangeKind.REPROVISION:
            console.print(f"  [bold red]{action.node}: will be reinstalled[/] (consented)")
        elif action.kind is ChangeKind.DELETE:
            verb = "[bold red]will be powered off[/]" if options.prune else "kept (--prune)"
            console.print(f"  {action.node}: removed from the file, {verb}")
        elif action.kind is ChangeKind.ADOPT_OR_REINSTALL:
            verb = (
                "[bold red]will be reinstalled[/] (consented)"
                if action.node in options.allow_reprovision
                else f"left as it is (`strata adopt {action.node}`, or --allow-reprovision)"
            )
            console.print(f"  {action.node}: found running, {verb}")


def _report(console: Console, summary: Summary) -> None:
    counts: dict[str, int] = {}
    for s in summary.states.values():
        counts[s.value] = counts.get(s.value, 0) + 1
    line = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console.print(f"apply finished in {summary.seconds:.1f} s: {line}")
    for node, why in sorted(summary.held.items()):
        console.print(f"[yellow]held[/] {node}: {why}")
    for node, why in sorted(summary.found_running.items()):
        console.print(f"[yellow]found running[/] {node}: {why}")
    if summary.found_running:
        console.print(
            "nothing was powered on or off there: `strata adopt NODE…` (or --all-found) takes "
            "them as provisioned; `strata apply --allow-reprovision NODE` reinstalls one"
        )
    for node, why in sorted(summary.failed.items()):
        console.print(f"[red]failed[/] {node} at {why}")
    if summary.failed:
        console.print("fix the cause, then `strata retry NODE…` and apply again")
