"""`strata pivot`: move a topology's management plane — its whole state — from the
SQLite state file (or a cluster) into a cluster's Kubernetes store, verified,
resumable after a crash, rolled back on a failure before the switch, and reversible
with ``--back`` (``strata.pivot``, docs/pivot.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from strata.pivot.from_file import InstallOptions

from strata.cli.common import STATE, TOPOLOGY_PATH, default_state
from strata.cli.pivot_host import CONTROLLER_MODES, HOST_CONTROLLER, host_args

__all__ = ["pivot"]

_KUBECONFIG = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@TOPOLOGY_PATH
@STATE
@click.option(
    "--kubeconfig",
    type=_KUBECONFIG,
    help="Move from this cluster (cluster to cluster), not from a state file.",
)
@click.option(
    "--namespace", "-n", default="strata", show_default=True, help="The source cluster's namespace."
)
@click.option("--topology", "-t", help="The topology's name [FILE's metadata.name].")
@click.option(
    "--to",
    "to_layer",
    metavar="LAYER",
    help="Into LAYER's own cluster: a kubeconfig minted from the layer's PKI in the state "
    "[the layer marked pivot: true].",
)
@click.option("--to-kubeconfig", type=_KUBECONFIG, help="The target cluster's kubeconfig.")
@click.option("--to-namespace", default="strata", show_default=True, help="The target's namespace.")
@click.option("--back", is_flag=True, help="Move back where the last move came from.")
@click.option("--abort", is_flag=True, help="Roll back an unfinished move (before its switch).")
@click.option("--dry-run", is_flag=True, help="Preflight and the plan of the move; write nothing.")
@click.option("--allow-failed", is_flag=True, help="Move failed servers as they are.")
@click.option(
    "--wait-steady",
    default="10m",
    show_default=True,
    metavar="DURATION",
    callback=lambda ctx, param, value: _seconds(value),
    help="How long to wait for servers in flight to settle before refusing (0: do not wait).",
)
@click.option(
    "--copy-credentials",
    is_flag=True,
    help="Make the BMC passwords FILE reads on this machine (environment, files) Secrets "
    "in the target, for its controller.",
)
@click.option(
    "--leave-credentials",
    is_flag=True,
    help="Leave them here: the target's controller cannot reach those BMCs until their "
    "Secrets are made there.",
)
@click.option(
    "--controller",
    type=click.Choice(CONTROLLER_MODES),
    default="auto",
    show_default=True,
    help="How the target's controller starts at resume: its Deployment scaled up (cluster), "
    "`strata controller` started on this host against it (host), host when no Node can run "
    "it (auto), or by hand (none).",
)
@HOST_CONTROLLER
def pivot(
    file: Path,
    state: Path | None,
    kubeconfig: Path | None,
    namespace: str,
    topology: str | None,
    to_layer: str | None,
    to_kubeconfig: Path | None,
    to_namespace: str,
    back: bool,
    abort: bool,
    dry_run: bool,
    allow_failed: bool,
    wait_steady: float,
    copy_credentials: bool,
    leave_credentials: bool,
    controller: str,
    **host: Any,
) -> None:
    """Move the management plane: the topology's whole state, from the state file (or
    --kubeconfig's cluster) into a cluster: --to LAYER's own (the layer marked pivot:
    true by default), or --to-kubeconfig's.

    Steps, each in a journal kept in both stores (a rerun after a crash resumes):
    preflight, freeze the source (its writer lease: "moving to ..."), install the CRDs,
    copy every record, attempt, used token, log entry, cursor and secret, verify (a
    digest per record equal on both sides), switch (the source left "moved to ..."),
    resume. A failure before the switch rolls back: the target's copy removed, the
    source in charge again. --back moves it home; --abort rolls back an unfinished
    move. Resume starts the target's controller (--controller; a host controller takes
    the boot flags --listen, --url, --dhcp-interface ... of `strata controller`)."""
    from strata.pivot.ends import End
    from strata.pivot.engine import Options, Pivot

    if to_layer is not None and to_kubeconfig is not None:
        raise click.UsageError("--to LAYER and --to-kubeconfig are exclusive: give one")
    name = topology or _name_in(file)
    if kubeconfig is not None:
        source = End.kube(kubeconfig, namespace, name)
    else:
        source = End.sqlite(state or default_state(file), name)
    if source.kind == "sqlite" and not Path(source.path).exists():
        click.echo(f"error: no state at {source.path}: nothing to move", err=True)
        sys.exit(1)
    options = Options(dry_run=dry_run, allow_failed=allow_failed, say=click.echo)
    options.wait_steady = wait_steady
    options.install = _install_options(file, copy_credentials, leave_credentials)
    options.controller, options.host_args = controller, host_args(file, source, **host)
    if back or abort:
        _back_or_abort(source, options, back)
        return
    if to_kubeconfig is None:
        to_kubeconfig = _layer_target(file, state, source, to_layer)
    if to_kubeconfig is None:
        click.echo(
            "error: say where to: --to LAYER or --to-kubeconfig FILE (or --back, --abort)",
            err=True,
        )
        sys.exit(2)
    mover = Pivot(source, End.kube(to_kubeconfig, to_namespace, name), options)
    try:
        mover.run()
    finally:
        mover.close()


def _layer_target(file: Path, state: Path | None, source: object, layer: str | None) -> Path | None:
    """--to LAYER's kubeconfig, written beside the state (``strata.cli.pivot_layer``);
    None without LAYER when FILE marks no layer pivot: true."""
    from strata.cli.pivot_layer import target_kubeconfig
    from strata.pivot.ends import End

    assert isinstance(source, End)
    state_dir = Path(source.path).parent if source.kind == "sqlite" else default_state(file).parent
    store = source.open()
    try:
        return target_kubeconfig(file, layer, store, state_dir, click.echo)
    finally:
        store.close()  # type: ignore[attr-defined]


def _back_or_abort(source: object, options: object, back: bool) -> None:
    """The move this end's journal names: rolled back (--abort); with --back, a way back
    that stopped (or was rolled back) run again, a move away that stopped rolled back
    before its switch or else finished, and a finished move away reversed."""
    import tempfile
    from dataclasses import replace

    from strata.cli.pivot_remint import put_back, refresh_layer_kubeconfigs
    from strata.pivot.ends import End
    from strata.pivot.engine import Options, PivotRefused
    from strata.pivot.journal import Kept

    assert isinstance(source, End) and isinstance(options, Options)
    store = source.open()
    try:
        last = Kept(store).read()
    finally:
        store.close()  # type: ignore[attr-defined]
    if last is None or not any(e.same_place(source) for e in (last.source, last.target)):
        raise PivotRefused(f"{source.describe()} has no move in its journal")
    options = replace(options, back=back)
    dry = options.dry_run and (not back or (last.unfinished and not last.back))
    with tempfile.TemporaryDirectory() as scratch:  # a dry run's kubeconfigs: not kept
        ends, written = refresh_layer_kubeconfigs(
            (last.source, last.target),
            options.say,
            scratch=Path(scratch) if options.dry_run else None,
        )
        if dry:
            what = (
                "rolled back" if not back else "rolled back (or, switched, finished and reversed)"
            )
            options.say(
                f"dry run: move {last.move} ({last.state}) would be {what}; nothing written"
            )
            return
        try:
            _back_or_abort_run(replace(last, source=ends[0], target=ends[1]), options, back)
        except PivotRefused:
            put_back(written)  # a refused run writes nothing
            raise


def _back_or_abort_run(last: object, options: object, back: bool) -> None:
    from strata.pivot.engine import Options, Pivot, PivotRefused
    from strata.pivot.journal import Journal

    assert isinstance(last, Journal) and isinstance(options, Options)
    if not back:
        _run(Pivot(last.source, last.target, options), "abort")
    elif last.back and (last.unfinished or last.state == "rolled-back"):
        _run(Pivot(last.source, last.target, options), "run")  # the way back again
    elif last.unfinished:
        _home(last, options)
    elif last.state == "done":  # a host controller it started: stopped under the freeze
        _run(Pivot(last.target, last.source, options), "run")
    else:
        raise PivotRefused(f"the last move ({last.move}) was {last.state}: nothing to go back to")


def _home(last: object, options: object) -> None:
    """--back after a move away that stopped: its source's journal (the one that counts)
    says whether it switched — rolled back if not, else finished, then reversed."""
    from strata.pivot.engine import Options, Pivot
    from strata.pivot.journal import Journal

    assert isinstance(last, Journal) and isinstance(options, Options)
    mover = Pivot(last.source, last.target, options)
    try:
        current = mover.kept.read() or last
        mover.journal = current
        if current.state in ("moving", "rolling-back") and not mover._switched():
            mover.abort()
            return
        if current.state == "rolled-back":
            mover.say(f"move {current.move} was rolled back: {last.source.describe()} is in charge")
            return
        if current.unfinished:
            mover.run()  # switched: finished first
    finally:
        mover.close()
    _run(Pivot(last.target, last.source, options), "run")


def _run(mover: object, work: str) -> None:
    try:
        getattr(mover, work)()
    finally:
        mover.close()  # type: ignore[attr-defined]


def _install_options(file: Path, copy: bool, leave: bool) -> InstallOptions:
    """FILE (when it exists: the Topology object is made from it) and the consent
    given for its credentials (``strata.pivot.from_file``)."""
    from strata.pivot.from_file import InstallOptions

    if copy and leave:
        raise click.UsageError("--copy-credentials and --leave-credentials: give one")
    consent = "copy" if copy else "leave" if leave else ""
    return InstallOptions(file if file.is_file() else None, consent)


def _seconds(text: str) -> float:
    """``--wait-steady``: ``0`` or a duration as ``strata kubeconfig --ttl`` takes it."""
    from strata.cli.kube import parse_duration

    return 0.0 if text.strip() in ("0", "0s") else parse_duration(text).total_seconds()


def _name_in(file: Path) -> str:
    from strata.cli.status import name_in

    return name_in(file)
