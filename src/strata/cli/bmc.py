"""`strata bmc NODE ACTION` and `strata inspect [NODE…]`: talk to the BMCs of a topology."""

from __future__ import annotations

import concurrent.futures
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from strata.bmc import BMCDriver, BMCError, BMCPool, BootDevice, BootMode, PowerAction
from strata.bmc.inspection import Inspection, inspect_node
from strata.cli.common import topology_or_exit
from strata.cli.render import dump, make_console
from strata.plan import build_plan, to_jsonable

__all__ = ["bmc", "inspect"]

FILE = click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="topology.yaml",
    show_default=True,
    help="The topology the node is in.",
)
OUTPUT = click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
POWER = {
    "on": PowerAction.ON,
    "off": PowerAction.OFF,
    "graceful-off": PowerAction.GRACEFUL_OFF,
    "reset": PowerAction.RESET,
    "cycle": PowerAction.CYCLE,
}
ACTIONS = ["status", *POWER, "bootdev", "inventory", "insert-media", "eject-media"]


def _fail(error: BMCError, output: str) -> None:
    if output == "json":
        click.echo(dump({"error": error.as_json()}, "json"), nl=False)
    else:
        said = f"[red]error[/] ({error.kind}): {escape(str(error))}"  # "[fd00::5]" is a host
        make_console(stderr=True).print(said, soft_wrap=True)
    sys.exit(1)


@click.command()
@FILE
@click.argument("node")
@click.argument("action", type=click.Choice(ACTIONS))
@click.argument("value", required=False)
@click.option(
    "--mode", type=click.Choice([m.value for m in BootMode]), default="uefi", show_default=True
)
@click.option("--persistent", is_flag=True, help="bootdev: keep the device beyond the next boot.")
@click.option("--fallback", is_flag=True, help="Through the node's bmc.fallback address.")
@OUTPUT
def bmc(
    file: Path,
    node: str,
    action: str,
    value: str | None,
    mode: str,
    persistent: bool,
    fallback: bool,
    output: str,
) -> None:
    """Drive NODE's BMC: status, on, off, graceful-off, reset, cycle, bootdev DEVICE
    (pxe, http, cd, disk), inventory, insert-media URL, eject-media."""
    topology = topology_or_exit(file)
    found = next((n for n in topology.nodes if n.name == node), None)
    if found is None:
        raise click.BadParameter(f"no node {node} in {file}", param_hint="NODE")
    if fallback and found.bmc.fallback is None:
        raise click.BadParameter(
            f"node {node} has no bmc.fallback in {file}", param_hint="--fallback"
        )
    with BMCPool(topology) as pool:
        try:
            driver = pool.driver(node, fallback=fallback)
            result = _act(driver, action, value, BootMode(mode), persistent)
        except BMCError as error:
            _fail(error, output)
    if output == "json":
        click.echo(dump({"node": node, "action": action, **result}, "json"), nl=False)
    else:
        click.echo(
            " ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, dict)) or "ok"
        )
        if "inventory" in result:
            _inventory_table(make_console(), node, result["inventory"])


def _act(
    driver: BMCDriver, action: str, value: str | None, mode: BootMode, persistent: bool
) -> dict[str, Any]:
    if action == "status":
        return {"power": driver.power_state().value}
    if action in POWER:
        return {"power": driver.power(POWER[action]).value}
    if action == "bootdev":
        devices = [d.value for d in BootDevice]
        if value not in devices:
            raise click.BadParameter(f"give one of {', '.join(devices)}", param_hint="DEVICE")
        driver.set_boot_device(BootDevice(value), mode, persistent=persistent)
        return {"bootdev": value, "mode": mode.value, "persistent": persistent}
    if action == "insert-media":
        if not value:
            raise click.BadParameter("give the image URL", param_hint="URL")
        driver.insert_media(value)
        return {"media": value}
    if action == "eject-media":
        driver.eject_media()
        return {"media": None}
    return {"inventory": to_jsonable(driver.inventory())}


def _inventory_table(console: Console, node: str, inv: dict[str, Any]) -> None:
    table = Table(title=f"Inventory of {node}", title_justify="left", show_header=False)
    for key in (
        "manufacturer",
        "model",
        "serial_number",
        "cpu_sockets",
        "cpu_cores",
        "cpu_threads",
        "memory_gib",
        "bmc_firmware",
    ):
        table.add_row(key.replace("_", " "), str(inv.get(key) if inv.get(key) is not None else "-"))
    for nic in inv["nics"]:
        table.add_row("nic", f"{nic['mac']} link {nic['link']}")
    for disk in inv["disks"]:
        size = f"{disk['size_bytes'] / 1e9:.0f} GB" if disk["size_bytes"] else "?"
        table.add_row(
            "disk", f"{disk['name']} {size} {disk['model'] or ''} {disk['serial_number'] or ''}"
        )
    console.print(table)


@click.command()
@FILE
@click.argument("nodes", nargs=-1)
@click.option("--parallel", "-p", default=32, show_default=True, help="BMCs asked at once.")
@OUTPUT
def inspect(file: Path, nodes: tuple[str, ...], parallel: int, output: str) -> None:
    """Read each node's inventory from its BMC and compare it with the topology (MACs, disks).
    Exit 1 when any node differs or its BMC fails."""
    topology = topology_or_exit(file)
    by_name = {p.name: p for p in build_plan(topology).nodes}  # what each should report
    unknown = [n for n in nodes if n not in by_name]
    if unknown:
        raise click.BadParameter(f"not in {file}: {', '.join(unknown)}", param_hint="NODES")
    chosen = list(nodes) or list(by_name)
    results: dict[str, Inspection | BMCError] = {}
    with BMCPool(topology) as pool, _progress(output) as progress:
        task = progress.add_task("inspecting", total=len(chosen))

        def one(name: str) -> None:
            try:
                plan = by_name[name]
                results[name] = inspect_node(plan, pool.driver_for(plan).inventory())
            except BMCError as error:
                results[name] = error
            progress.advance(task)

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as workers:
            list(workers.map(one, chosen))
    failed = [n for n in chosen if not isinstance(results[n], Inspection) or not results[n].ok]  # type: ignore[union-attr]
    if output == "json":
        click.echo(
            dump({"nodes": [_json(n, results[n]) for n in chosen], "failed": failed}, "json"),
            nl=False,
        )
    else:
        _inspection_table(make_console(), chosen, results)
    sys.exit(1 if failed else 0)


def _progress(output: str) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=make_console(stderr=True),
        disable=output == "json",
        transient=True,
    )


def _json(name: str, result: Inspection | BMCError) -> dict[str, Any]:
    if isinstance(result, BMCError):
        return {"node": name, "ok": False, "error": result.as_json()}
    return {
        "node": name,
        "ok": result.ok,
        "mismatches": list(result.mismatches),
        "notes": list(result.notes),
    }


def _inspection_table(
    console: Console, chosen: list[str], results: dict[str, Inspection | BMCError]
) -> None:
    table = Table(title="Inspection", title_justify="left", header_style="bold")
    for column in ("node", "result", "details"):
        table.add_column(column)
    for name in chosen:
        result = results[name]
        if isinstance(result, BMCError):
            table.add_row(name, f"[red]{result.kind}[/]", Text(result.message))
        elif result.ok:
            table.add_row(name, "[green]ok[/]", Text("\n".join(result.notes)))
        else:
            found = f"[red]{len(result.mismatches)} mismatch(es)[/]"
            table.add_row(name, found, Text("\n".join(result.mismatches)))
    console.print(table)
