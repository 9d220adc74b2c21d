"""The end of `strata apply`: the management plane moves into the cluster of the layer
marked ``pivot: true`` once every node of it is ``joined`` (issue 17; docs/pivot.md,
"Automatic pivot").

It runs after the run has ended: the boot service and DHCP stopped (``Manager.
reconcile`` stops what runs beside it before it returns) and the state's writer lease
released (the move takes it: frozen, then moved). The target is the layer's own
cluster, as ``strata pivot --to LAYER`` reaches it (``strata.cli.pivot_layer``), in
namespace ``strata``. A failed move is rolled back by the engine: the state file stays
in charge, and apply ends non-zero saying so.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from strata.cli.pivot_host import CONTROLLER_MODES
from strata.cli.pivot_layer import layer_kubeconfig, not_joined, pivot_layer
from strata.cli.render import PIVOT_NAMESPACE
from strata.errors import StrataError
from strata.plan import Plan
from strata.store import SQLiteStore

__all__ = [
    "PIVOT_OPTIONS",
    "AfterApply",
    "consent_refusals",
    "held_line",
    "pivot_after_apply",
    "run_flags",
]

_OPTIONS = [
    click.option(
        "--controller",
        type=click.Choice(CONTROLLER_MODES),
        default="auto",
        show_default=True,
        help="After the pivot, how the controller starts in the layer's cluster: its "
        "Deployment scaled up (cluster), `strata controller` on this host against it with "
        "this run's boot flags (host), host when no Node can run it (auto), by hand (none).",
    ),
    click.option(
        "--copy-credentials",
        is_flag=True,
        help="The pivot makes FILE's BMC passwords read on this machine (env, files) "
        "Secrets in the layer's cluster.",
    ),
    click.option(
        "--leave-credentials",
        is_flag=True,
        help="The pivot leaves them here (the cluster's controller needs the Secrets made).",
    ),
]


def PIVOT_OPTIONS(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


@dataclass(frozen=True)
class AfterApply:
    """How apply's pivot runs: ``controller`` (``Options.controller``), ``host_args``
    (a host controller's boot flags: this run's), ``consent`` ("", "copy", "leave":
    ``strata.pivot.from_file.CONSENTS``)."""

    controller: str = "auto"
    host_args: tuple[str, ...] = ()
    consent: str = ""

    @classmethod
    def of(cls, controller: str, copy: bool, leave: bool, host_args: tuple[str, ...]) -> AfterApply:
        if copy and leave:
            raise click.UsageError("--copy-credentials and --leave-credentials: give one")
        return cls(controller, host_args, "copy" if copy else "leave" if leave else "")


def run_flags(
    listen: str,
    url: str | None,
    dhcp_interface: str | None,
    no_serve: bool,
    mirror: Path,
    until: str,
    timeouts: tuple[str, ...],
) -> tuple[str, ...]:
    """This run's boot flags as `strata controller` takes them: what a host controller
    started at the pivot's resume serves with, where apply's boot service served."""
    args = ["--listen", listen, "--artifacts", str(mirror.resolve()), "--until", until]
    for flag, value in (("--url", url), ("--dhcp-interface", dhcp_interface)):
        if value is not None:
            args += [flag, value]
    for timeout in timeouts:
        args += ["--timeout", timeout]
    return (*args, "--no-serve") if no_serve else tuple(args)


def held_line(file: Path, plan: Plan) -> str:
    """What apply says at its end when the pivot was held for the person's word."""
    layer = pivot_layer(plan)
    name = layer.name if layer is not None else "LAYER"
    return (
        f"pivot: not done, held for your word (above): `strata pivot -f {file} --to {name} "
        "--copy-credentials` (or --leave-credentials) moves the management plane"
    )


def consent_refusals(file: Path, topology: str, after: AfterApply) -> list[str]:
    """What would stop the pivot at the end of the run for want of the person's word
    (BMC credentials read on this machine, neither --copy- nor --leave-credentials) or
    of a readable credential: said before any server is powered on."""
    from strata.pivot.from_file import InstallOptions, handover

    found = handover(InstallOptions(file, after.consent), PIVOT_NAMESPACE, topology).findings
    return [text for level, text in found if level == "block"]


def pivot_after_apply(
    file: Path,
    state: Path,
    plan: Plan,
    after: AfterApply,
    say: Callable[[str], None],
    seed_node: str | None = None,
) -> int:
    """Moves the state at ``state`` into the pivot layer's cluster (``plan``'s), saying
    each step; the exit code apply ends on: 0 moved (or no layer marked ``pivot``), else
    the failure's (the state file still in charge); 0 too when the layer is not all
    joined (held for consent): the plane stays here, said. ``seed_node`` (the seed's own
    machine, held: not waited for) is handed to the cluster's controller once moved
    (``strata.seed.handover``), and only then. Never raises a ``StrataError``."""
    layer = pivot_layer(plan)
    if layer is None:
        return 0
    again = f"`strata pivot -f {file} --to {layer.name}`"
    kept = _kept(seed_node, say)
    store = SQLiteStore(state)
    try:
        waiting = not_joined(layer, store, seed_node)
        if waiting:
            say(f"pivot: not done: layer {layer.name} is not joined ({', '.join(waiting)})")
            kept("no pivot")
            return 0  # nothing failed: the plane stays here, as with --no-pivot
        try:
            now = datetime.datetime.now(datetime.UTC)
            kubeconfig = layer_kubeconfig(plan, layer.name, store, state.parent, now, seed_node)
        except StrataError as refused:
            say(f"pivot: not done: {refused}")
            kept("no pivot")
            return refused.exit_code
    finally:
        store.close()
    say(f"pivot: layer {layer.name} is joined: the management plane moves into its cluster")
    try:
        here = _move(file, state, kubeconfig, plan.topology, after, say)
    except StrataError as failed:
        say(f"pivot failed: {failed}")
        if _switched(state):  # past the commit point: finished by running it again
            say(
                f"the move had switched: the plane lives in layer {layer.name}'s cluster; {again} finishes it"
            )
        else:
            say(f"the state file {state} is still in charge; fix the cause, then {again}")
        kept("the pivot did not complete")
        return failed.exit_code or 1
    if seed_node is None:
        return 0
    if here:  # reinstalled, this machine would take the cluster's only controller with it
        say(
            f"{seed_node} (this machine) is not handed over: the cluster's controller runs on "
            f"it ({here}); once it runs elsewhere (its Deployment, when a Node can run it), "
            f"add {seed_node} to spec.consent.allowReprovision of topologies/{plan.topology} "
            f"in namespace {PIVOT_NAMESPACE} of layer {layer.name}'s cluster ({kubeconfig})"
        )
        return 0
    return _hand_over(kubeconfig, plan, layer.name, seed_node, say)


def _kept(seed_node: str | None, say: Callable[[str], None]) -> Callable[[str], None]:
    """What to say of the seed's own machine when it is not handed over, and why."""

    def kept(why: str) -> None:
        if seed_node is not None:
            say(f"{seed_node} (this machine) is not handed over ({why}): held, untouched")

    return kept


def _hand_over(
    kubeconfig: Path, plan: Plan, layer: str, node: str, say: Callable[[str], None]
) -> int:
    """The seed's machine handed to the controller in ``layer``'s cluster, said."""
    from strata.seed.handover import HandoverFailed, hand_over, reinstall_line

    try:
        hand_over(kubeconfig, PIVOT_NAMESPACE, plan.topology, node, say)
    except HandoverFailed as failed:
        say(
            f"{node} (this machine) is not handed over: {failed}; to hand it over, add {node} "
            f"to spec.consent.allowReprovision of topologies/{plan.topology} in namespace "
            f"{PIVOT_NAMESPACE} of layer {layer}'s cluster ({kubeconfig})"
        )
        return failed.exit_code
    bmc = next(n.bmc_address for n in plan.nodes if n.name == node)
    say(reinstall_line(node, layer, bmc))
    return 0


def _switched(state: Path) -> bool:
    """Whether the state's writer lease says the plane moved (the switch's commit)."""
    from strata.store.fence import move_holding

    store = SQLiteStore(state)
    try:
        writer = store.writer()
    finally:
        store.close()
    return writer is not None and move_holding(writer[0]) == "moved"


def _move(
    file: Path,
    state: Path,
    kubeconfig: Path,
    topology: str,
    after: AfterApply,
    say: Callable[[str], None],
) -> str:
    """The move; the controller it left running on this host ("pid N, log FILE"), or ""."""
    from strata.pivot.ends import End
    from strata.pivot.engine import Options, Pivot
    from strata.pivot.from_file import InstallOptions
    from strata.pivot.host import host_files, running

    options = Options(say=say, controller=after.controller, host_args=after.host_args)
    options.wait_steady = 0  # the run has ended: nothing drives a server still in flight
    options.install = InstallOptions(file, after.consent)  # the Topology object made of FILE
    target = End.kube(kubeconfig, PIVOT_NAMESPACE, topology)
    source = End.sqlite(state, topology)
    mover = Pivot(source, target, options)
    try:
        mover.run()
    finally:
        mover.close()
    pid_file, log = host_files(source, target)
    pid = running(pid_file)
    return f"pid {pid}, log {log}" if pid is not None else ""
