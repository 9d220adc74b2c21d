"""Compare what a BMC reports with what topology.yaml says: catch cabling and inventory
mistakes before anything is written to a disk. Pure: values in, a report out.

Both sides are compared in the normal form of ``strata.bmc.normal``: a serial
number padded with spaces, a MAC in capitals with dashes, or a model with doubled
spaces is the same value as the one written in topology.yaml.

A node whose root device hints choose its disk is checked against the disks the BMC
reports, with the matcher validate uses (``strata.topology.root_device``): no reported
disk can match, or more than one surely does, is a mismatch found before anything is
powered on — the installer would refuse the same machine. A hint the BMC cannot answer
(a Redfish Drive has no hctl or kernel name) leaves the choice to the installer: a note."""

from __future__ import annotations

from dataclasses import dataclass, field

from strata.bmc import normal
from strata.bmc.types import DiskInfo, Inventory
from strata.plan import DiskPlan, NodePlan
from strata.topology.root_device import DiskFacts, choose, describe

__all__ = ["Inspection", "inspect_node"]

SIZE_TOLERANCE = 0.10  # vendors report sizes in GB or GiB, rounded: allow 10%


@dataclass(frozen=True)
class Inspection:
    node: str
    mismatches: tuple[str, ...] = ()  # what contradicts topology.yaml
    notes: tuple[str, ...] = field(default=())  # worth knowing, not wrong

    @property
    def ok(self) -> bool:
        return not self.mismatches


def inspect_node(node: NodePlan, inventory: Inventory) -> Inspection:
    """What ``inventory`` (the BMC's report) contradicts in ``node``'s expected NICs,
    disks and root device hints (mismatches), and what is worth knowing (notes: the
    CPUs in sockets, cores and threads first, then what could not be checked)."""
    mismatches: list[str] = []
    notes: list[str] = _cpus(inventory)
    _nics(node, inventory, mismatches, notes)
    _disks(node, inventory, mismatches, notes)
    _root_device(node, inventory, mismatches, notes)
    return Inspection(node.name, tuple(mismatches), tuple(notes))


def _cpus(inventory: Inventory) -> list[str]:
    """``CPUs: 2 sockets, 56 cores, 112 threads`` with what the BMC reports of them."""
    counts = (
        (inventory.cpu_sockets, "sockets"),
        (inventory.cpu_cores, "cores"),
        (inventory.cpu_threads, "threads"),
    )
    shown = [f"{n} {label}" for n, label in counts if n is not None]
    return [f"CPUs: {', '.join(shown)}"] if shown else []


def _nics(node: NodePlan, inventory: Inventory, mismatches: list[str], notes: list[str]) -> None:
    links = {normal.mac(nic.mac): nic.link for nic in inventory.nics}
    reported = {mac for mac in links if mac is not None}
    if not reported:
        notes.append("NICs not checked: the BMC reports no MAC addresses")
        return
    expected = {normal.mac(nic.mac) or nic.mac: nic.name or nic.network for nic in node.interfaces}
    boot = normal.mac(node.boot_mac) or node.boot_mac
    expected.setdefault(boot, "boot")
    for mac, label in expected.items():
        if mac not in reported:
            mismatches.append(
                f"NIC {mac} ({label}) is in topology.yaml but not reported by the BMC"
            )
    if links.get(boot) == "down":
        mismatches.append(f"the boot NIC {boot} has no link: check its cable")
    for mac in sorted(reported - set(expected)):
        notes.append(f"NIC {mac} is reported by the BMC but not in topology.yaml")


def _disks(node: NodePlan, inventory: Inventory, mismatches: list[str], notes: list[str]) -> None:
    if not node.disks:
        return
    if not inventory.disks:
        notes.append("disks not checked: the BMC reports none")
        return
    unused = list(inventory.disks)
    for disk in node.disks:
        match = next((d for d in unused if _same(disk, d)), None)
        if match is None:
            mismatches.append(
                f"disk {disk.name} ({_describe(disk)}) is not among the disks the BMC reports"
            )
        else:
            unused.remove(match)


def _root_device(
    node: NodePlan, inventory: Inventory, mismatches: list[str], notes: list[str]
) -> None:
    if node.root_device_hints is None or node.install_disk is not None:
        return
    hints = dict(node.root_device_hints)
    shown = f"rootDeviceHints ({describe(hints)})"
    if not inventory.disks:
        notes.append(f"{shown} not checked: the BMC reports no disks")
        return
    reported = [_facts(i, disk) for i, disk in enumerate(inventory.disks)]
    choice = choose(hints, reported)
    listed = "; ".join(_show(d) for d in reported)
    if not choice.possible:
        mismatches.append(f"no disk the BMC reports matches {shown}: {listed}")
    elif len(choice.sure) > 1:
        names = ", ".join(d.label for d in choice.sure)
        mismatches.append(
            f"{len(choice.sure)} disks the BMC reports match {shown} ({names}): the install "
            "would refuse; narrow the hints, e.g. with serialNumber"
        )
    elif len(choice.possible) > 1:
        names = ", ".join(d.label for d in choice.possible)
        notes.append(
            f"{shown} may match {names}: the BMC does not report all the hinted properties; "
            "the installer decides on the machine"
        )
    elif choice.sure:
        notes.append(f"{shown} pick {_show(choice.sure[0])}")
    else:
        notes.append(
            f"{shown} can match only {_show(choice.maybe[0])}; the installer checks the "
            "hinted properties the BMC does not report"
        )


def _facts(index: int, disk: DiskInfo) -> DiskFacts:
    """A reported disk: its name is the BMC's (``Disk 1``), not the kernel's."""
    return DiskFacts(
        label=disk.name or f"disk {index}",
        size_bytes=normal.size_bytes(disk.size_bytes),
        model=normal.text(disk.model),
        serial=normal.text(disk.serial_number),
        rotational=disk.rotational,
    )


def _show(disk: DiskFacts) -> str:
    parts = [
        f"{(disk.size_bytes or 0) / 1e9:.0f} GB" if disk.size_bytes else "",
        disk.model or "",
        f"serial {disk.serial}" if disk.serial else "",
    ]
    return f"{disk.label} ({', '.join(p for p in parts if p) or 'no properties'})"


def _same(expected: DiskPlan, found: DiskInfo) -> bool:
    """By serial number when the file gives one; else by model and size (either may be
    absent), each in its normal form."""
    if normal.serial_key(expected.serial_number):
        return normal.serial_key(expected.serial_number) == normal.serial_key(found.serial_number)
    if normal.key(expected.model) and normal.key(expected.model) != normal.key(found.model):
        return False
    size = normal.size_bytes(found.size_bytes)
    if expected.size_gigabytes and size:
        gigabytes = size / 1e9  # topology.yaml sizes are decimal GB
        return abs(gigabytes - expected.size_gigabytes) <= expected.size_gigabytes * SIZE_TOLERANCE
    return bool(normal.key(expected.model))


def _describe(disk: DiskPlan) -> str:
    parts = [
        f"serial {disk.serial_number}" if disk.serial_number else "",
        disk.model or "",
        f"{disk.size_gigabytes} GB" if disk.size_gigabytes else "",
    ]
    return ", ".join(p for p in parts if p) or "no properties to match"
