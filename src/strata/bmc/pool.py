"""The BMCs of a topology, each opened once and shared by every caller.

One driver per node, created on first use, with its credentials resolved at
that moment; one ``Guard`` per BMC endpoint (host and port), so nodes behind
one BMC (a blade chassis) still get one operation at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from strata.bmc.credentials import (
    CredentialsError,
    SecretReader,
    refuse_kubernetes_secret,
    resolve_credentials,
)
from strata.bmc.errors import CredentialsUnavailable
from strata.bmc.guard import Guard, RetryPolicy
from strata.bmc.registry import make_driver, target_for
from strata.bmc.types import BMCDriver, DriverSettings
from strata.plan import NodePlan
from strata.topology import BMC, Topology
from strata.topology.addresses import parse_bmc_address

__all__ = ["BMCPool"]


class BMCPool:
    def __init__(
        self,
        topology: Topology,
        settings: DriverSettings | None = None,
        base_dir: Path | None = None,
        read_secret: SecretReader = refuse_kubernetes_secret,
    ) -> None:
        """``read_secret``: how a credentials entry's Kubernetes Secret is read (the
        in-cluster controller passes its reader; default: refused)."""
        self.topology = topology
        self.settings = settings or DriverSettings()
        self.base_dir = base_dir if base_dir is not None else Path(topology.file).parent
        self.read_secret = read_secret
        self._nodes = {n.name: n for n in topology.nodes}
        self._drivers: dict[tuple[str, str], BMCDriver] = {}  # (node, address)
        self._guards: dict[tuple[str, int | None], Guard] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> BMCPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def driver(self, node_name: str, *, fallback: bool = False) -> BMCDriver:
        """The driver of a node of the topology (``KeyError`` for any other name);
        ``fallback``: through its ``bmc.fallback`` address (``ValueError`` if it has none)."""
        first = self._nodes[node_name].bmc
        bmc = first.fallback if fallback else first
        if bmc is None:
            raise ValueError(f"node {node_name} has no bmc.fallback")
        return self._driver(node_name, bmc.address, lambda: bmc)

    def driver_for(self, plan: NodePlan) -> BMCDriver:
        """The driver of the BMC ``plan`` names (a node's current or recorded plan: a node
        removed from the topology is still powered off through its recorded BMC; a plan
        ``through_fallback``: its fallback BMC, a driver of its own)."""

        def bmc() -> BMC:
            return parse_bmc_address(
                plan.bmc_address,
                None,
                plan.bmc_credentials,
                plan.bmc_insecure,
                plan.bmc_ca_bundle,
            )

        return self._driver(plan.name, plan.bmc_address, bmc)

    def _driver(self, node_name: str, address: str, bmc: Callable[[], BMC]) -> BMCDriver:
        with self._lock:
            driver = self._drivers.get((node_name, address))
            if driver is None:
                driver = self._drivers[node_name, address] = self._open(node_name, bmc())
            return driver

    def close(self) -> None:
        with self._lock:
            drivers, self._drivers = list(self._drivers.values()), {}
        for driver in drivers:
            driver.close()

    def _open(self, node_name: str, bmc: BMC) -> BMCDriver:
        target = target_for(node_name, bmc, self.base_dir)
        if bmc.credentials is None:
            raise CredentialsUnavailable(
                node_name,
                target.address,
                "no credentials for this BMC",
                hint="set bmc.credentials on the node or in a defaults block",
            )
        spec = self.topology.credentials.get(bmc.credentials)
        if spec is None:
            raise CredentialsUnavailable(
                node_name, target.address, f"no credentials entry named {bmc.credentials}"
            )
        try:
            credentials = resolve_credentials(spec, self.base_dir, self.read_secret)
        except CredentialsError as exc:
            raise CredentialsUnavailable(node_name, target.address, str(exc)) from None
        s = self.settings
        key = (target.host, target.port)
        guard = self._guards.get(key)
        if guard is None:
            policy = RetryPolicy(attempts=s.attempts, base_delay=s.retry_delay)
            guard = self._guards[key] = Guard(
                node_name, target.address, policy, s.operation_timeout, s.observe
            )
        return make_driver(target, credentials, s, guard)
