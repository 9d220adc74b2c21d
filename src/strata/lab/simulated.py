"""A simulated fleet in this process: BMCs with a latency distribution, and machines that
"boot" after a simulated delay and report to the store as the boot service would.

For measuring the controller at a scale no emulator reaches on one machine
(bench/lifecycle_scale.py: 10,000 nodes) and for fast tests of its timing rules.
Behaviour a test wants to see fail is set per node: a BMC that never answers, a
machine that never fetches its Ignition config, NICs that differ from the file.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from strata.bmc import (
    BMCDriver,
    BMCFault,
    BMCTarget,
    BootDevice,
    BootMode,
    Capability,
    DiskInfo,
    Inventory,
    NICInfo,
    NotSupported,
    PowerAction,
    PowerState,
    Unreachable,
)
from strata.plan import NodePlan
from strata.provisioning import LogKind
from strata.store import Store
from strata.topology import Node, Topology

__all__ = ["Fleet", "FleetSettings", "SimulatedBMC", "Timeline"]


@dataclass(frozen=True, slots=True)
class FleetSettings:
    latency: tuple[float, float] = (0.05, 0.2)  # seconds per BMC call, uniform
    boot_seconds: tuple[float, float] = (1.0, 2.0)  # power-on to Ignition fetch
    install_seconds: tuple[float, float] = (1.0, 2.0)  # Ignition fetch to "installed"
    # "installed" to its Node Ready in its layer's simulated cluster; None: no clusters
    join_seconds: tuple[float, float] | None = None
    seed: int = 1


Installed = Callable[[str], None]  # a node's name, once its machine reported installed


@dataclass
class Machine:
    node: Node
    power: PowerState = PowerState.OFF
    boot_once: BootDevice | None = None
    media: str | None = None  # the virtual media image URL its BMC was given
    virtual_media: bool = True  # its BMC offers a virtual CD
    media_refused: bool = False  # its BMC cannot read the image it is given (a 4xx)
    driver_fault: str | None = None  # its driver cannot even be made (credentials unreadable)
    dead_boot: BootDevice | None = None  # booted this way, it never reaches its installer
    power_ons: int = 0  # power-on or reset actions received
    powering: list[tuple[float, float]] = field(default_factory=list)  # (start, settled)
    power_offs: int = 0
    installed: bool = False
    unreachable: bool = False
    flaky_calls: int = 0  # this many calls fail as unreachable before the BMC answers
    no_ignition: bool = False  # fetches its iPXE script, never its config
    missing_artifact: str | None = None  # its kernel URL answers 404 (the service records it)
    install_refusal: str | None = None  # its installer reports this instead of installed
    missing_macs: set[str] = field(default_factory=set)
    never_joins: bool = False  # boots its disk; its Node never registers
    not_ready: str | None = None  # its Node registers and stays NotReady, with this reason


class Fleet:
    """A ``DriverSource`` for the reconciler: one simulated machine per topology node,
    and each layer's cluster as its watch of Nodes would report it to the event log: the
    layer's first control-plane node brings its API up (``api-answered``), the others
    join once it answers (registered NotReady, then Ready).

    ``on_installed``, when given, is told each node that reported installed, and the
    fleet leaves its joining to it (``join_seconds`` unused): for a simulated cluster
    that a real watch of Nodes follows (bench/lifecycle_scale.py)."""

    def __init__(
        self,
        topology: Topology,
        store: Store,
        settings: FleetSettings | None = None,
        on_installed: Installed | None = None,
    ):
        self.store, self.settings = store, settings or FleetSettings()
        self.on_installed = on_installed
        self.machines = {n.name: Machine(n) for n in topology.nodes}
        self._init_nodes: dict[str, str] = {}  # layer -> its first control-plane node
        for n in topology.nodes:
            if n.role == "control-plane":
                self._init_nodes.setdefault(n.layer, n.name)
        self.api_up: set[str] = set()  # layers whose simulated API answers
        self._rng = random.Random(self.settings.seed)
        self._lock = threading.Lock()
        self._clock = Timeline()
        self.busy_seconds = 0.0  # time BMC calls spent "on the wire"

    def driver_for(self, plan: NodePlan) -> BMCDriver:
        """The machine's BMC through the address ``plan`` names: its first, where its
        faults are set, or its fallback (``through_fallback``), which always answers."""
        machine = self.machines[plan.name]
        first = plan.bmc_address == machine.node.bmc.address
        if machine.driver_fault is not None and first:
            raise BMCFault(plan.name, plan.bmc_address, machine.driver_fault)
        return SimulatedBMC(self, machine, None if first else plan)

    def delay(self, bounds: tuple[float, float]) -> float:
        with self._lock:
            return self._rng.uniform(*bounds)

    def boot(self, machine: Machine) -> None:
        """Power-on with a one-time network boot: the boot service would see these."""
        attempt = self.store.attempt(machine.node.name)
        media = machine.boot_once is BootDevice.CD and machine.media is not None
        if not (media or machine.boot_once in (BootDevice.PXE, BootDevice.HTTP)):
            return
        if machine.boot_once is machine.dead_boot:  # e.g. a CD its firmware cannot start
            machine.boot_once = None
            return
        if attempt is None:
            return
        machine.boot_once = None
        name, number = machine.node.name, attempt.number
        fetched = self.delay(self.settings.boot_seconds)
        self._clock.at(fetched * 0.5, lambda: self._report(name, LogKind.IPXE_FETCHED, number))
        if machine.missing_artifact is not None:
            detail = {"attempt": number, "file": machine.missing_artifact}
            self._clock.at(
                fetched * 0.6, lambda: self.store.record(name, LogKind.ARTIFACT_MISSING, detail)
            )
            return
        if machine.no_ignition:
            return
        self._clock.at(fetched, lambda: self._report(name, LogKind.IGNITION_FETCHED, number))
        done = fetched + self.delay(self.settings.install_seconds)
        self._clock.at(done, lambda: self._installed(machine, number))

    def _installed(self, machine: Machine, attempt: int) -> None:
        if machine.install_refusal is not None:  # e.g. no disk matched its root device hints
            self._report(machine.node.name, machine.install_refusal, attempt)
            return
        machine.installed = True
        self._report(machine.node.name, LogKind.INSTALLED, attempt)
        if self.on_installed is not None:
            if not machine.never_joins:
                self.on_installed(machine.node.name)
        elif self.settings.join_seconds is not None:
            self._clock.at(self.delay(self.settings.join_seconds), lambda: self._join(machine))

    def _join(self, machine: Machine) -> None:
        """Its disk booted and kubeadm ran: the init node brings its layer's API up; any
        other node joins once that API answers (tried again a little later until then)."""
        node, seconds = machine.node, self.settings.join_seconds
        if machine.never_joins or not machine.installed or seconds is None:
            return
        if self._init_nodes.get(node.layer) == node.name:
            self.api_up.add(node.layer)
            self.store.record(node.name, LogKind.API_ANSWERED, {"layer": node.layer})
        elif node.layer not in self.api_up:
            self._clock.at(self.delay(seconds), lambda: self._join(machine))
            return
        reason = machine.not_ready or "KubeletNotReady: container runtime network not ready"
        self.store.record(node.name, LogKind.NODE_REGISTERED, {"reason": reason})
        if machine.not_ready is None:
            self.store.record(node.name, LogKind.NODE_READY, {})

    def _report(self, node: str, kind: str, attempt: int) -> None:
        self.store.record(node, kind, {"attempt": attempt})

    def close(self) -> None:
        self._clock.stop()


class SimulatedBMC:
    capabilities = frozenset(
        {Capability.POWER, Capability.BOOT_DEVICE, Capability.INVENTORY, Capability.VIRTUAL_MEDIA}
    )

    def __init__(self, fleet: Fleet, machine: Machine, fallback: NodePlan | None = None) -> None:
        """``fallback``: the node's plan through its fallback BMC (an IPMI address offers
        no virtual media); None: its first BMC, where the machine's BMC faults are set."""
        self.fleet, self.machine, self.first = fleet, machine, fallback is None
        bmc = machine.node.bmc
        self.target = BMCTarget(machine.node.name, bmc.address, bmc.protocol, bmc.host, bmc.port)
        if fallback is not None:
            scheme = fallback.bmc_address.partition("://")[0]
            self.target = BMCTarget(fallback.name, fallback.bmc_address, scheme, bmc.host, None)
            if scheme == "ipmi":
                self.capabilities = self.capabilities - {Capability.VIRTUAL_MEDIA}

    def _call(self) -> None:
        pause = self.fleet.delay(self.fleet.settings.latency)
        m = self.machine
        if self.first and (m.unreachable or m.flaky_calls > 0):
            m.flaky_calls -= 1
            raise Unreachable(self.target.node, self.target.address, "connection refused")
        time.sleep(pause)
        with self.fleet._lock:
            self.fleet.busy_seconds += pause

    def power_state(self) -> PowerState:
        self._call()
        return self.machine.power

    def power(self, action: PowerAction) -> PowerState:
        start = time.monotonic()
        self._call()
        m = self.machine
        if action.settles_at is PowerState.ON:
            m.power, m.power_ons = PowerState.ON, m.power_ons + 1
            m.powering.append((start, time.monotonic()))
            self.fleet.boot(m)
        else:
            m.power, m.power_offs = PowerState.OFF, m.power_offs + 1
        return m.power

    def set_boot_device(
        self, device: BootDevice, mode: BootMode = BootMode.UEFI, *, persistent: bool = False
    ) -> None:
        self._call()
        self.machine.boot_once = device

    def insert_media(self, url: str) -> None:
        self._call()
        if not self.machine.virtual_media or Capability.VIRTUAL_MEDIA not in self.capabilities:
            raise NotSupported(self.target.node, self.target.address, "no virtual CD or DVD drive")
        if self.machine.media_refused:
            raise BMCFault(self.target.node, self.target.address, "HTTP 400: image unreadable")
        self.machine.media = url

    def eject_media(self) -> None:
        self._call()
        self.machine.media = None

    def inventory(self) -> Inventory:
        self._call()
        node = self.machine.node
        macs = [n.mac for n in node.nics if n.mac not in self.machine.missing_macs]
        disks = tuple(
            DiskInfo(d.name, (d.size_gigabytes or 0) * 10**9, d.model, d.serial_number)
            for d in node.disks
        )
        return Inventory(
            "Strata",
            "simulated",
            node.name,
            8,
            32.0,
            "1.0",
            tuple(NICInfo(mac, "up") for mac in macs),
            disks,
        )

    def close(self) -> None:
        pass


class Timeline:
    """One thread that runs callbacks at their time (a heap, not a thread per timer)."""

    def __init__(self, name: str = "fleet-timeline") -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def at(self, delay: float, call: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), call))
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()
        self.thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(wait)
                if self._stopped:
                    return
                _, _, call = heapq.heappop(self._heap)
            call()
