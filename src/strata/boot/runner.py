"""The boot side of a run, assembled in one place: the boot service for a plan, on the
guarded server, and dnsmasq beside it when Strata serves DHCP.

``strata apply`` runs it on a thread for the length of a run (``BootRunner.start`` /
``stop``, what the controller's ``Manager`` starts beside the reconciler); ``strata
serve`` runs the same runner until it is told to stop. Both build it from the run's one
plan.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from strata.boot.assets import AssetIndex
from strata.boot.content import BootContent
from strata.boot.dhcp import DHCPConfig, Dnsmasq
from strata.boot.fragments import load_fragments
from strata.boot.kube_content import KubeSource
from strata.boot.media import media_url
from strata.boot.server import boot_server
from strata.boot.service import BootService
from strata.boot.tokens import TokenSigner
from strata.errors import StrataError
from strata.plan import Plan
from strata.provisioning import BootState
from strata.store.clusters import ClusterSecretsStore
from strata.topology import Topology
from strata.web.metrics import BootMetrics

__all__ = [
    "BootRunner",
    "BootStartFailed",
    "BootStore",
    "boot_content",
    "boot_service",
    "dnsmasq_for",
]


class BootStartFailed(StrataError):
    """The boot service or dnsmasq could not start; the message says which and why."""

    kind = "boot-service"


class BootStore(BootState, ClusterSecretsStore, Protocol):
    """What the boot side reads and writes: attempts and events, and the layers' kept
    cluster material (the store implements both)."""


def boot_service(
    plan: Plan,
    topology: Topology,
    state: BootStore,
    token_key: bytes,
    base_url: str,
    mirror: Path,
    linger: float = 0.0,
    metrics: BootMetrics | None = None,
) -> BootService:
    """The boot service for ``plan`` on ``state`` (the store), its tokens signed with
    ``token_key``; ``FragmentError`` for an Ignition fragment that is not one (fragments
    are read from the files the topology names). Nodes of a layer whose cluster material
    the store keeps get its Kubernetes too (``KubeSource``). ``linger``: seconds its log
    entries wait for more before they are written (``Journal``); ``metrics``: where its
    requests are counted (``strata.web.metrics``)."""
    kube = KubeSource(plan, state, mirror, base_url)
    content = boot_content(plan, topology, base_url, TokenSigner(token_key), kube)
    return BootService(content, state, AssetIndex(mirror), linger=linger, metrics=metrics)


def boot_content(
    plan: Plan,
    topology: Topology,
    base_url: str,
    signer: TokenSigner,
    kube: KubeSource | None = None,
) -> BootContent:
    """What machines get for ``plan``: scripts and configs, the topology's Ignition fragments
    merged in (``FragmentError`` for one that is not Ignition), and ``kube``'s."""
    fragments = load_fragments(topology, Path(topology.file).parent)
    return BootContent(plan, base_url, signer, fragments, kube.fragment if kube else None)


def dnsmasq_for(
    plan: Plan, topology: Topology, interface: str, base_url: str, directory: Path, proxy: bool
) -> Dnsmasq:
    """dnsmasq for the provisioning network on ``interface``, its configuration written
    and checked by dnsmasq itself (``BootStartFailed`` when it refuses it)."""
    network = next(n for n in topology.networks.values() if n.purpose == "provisioning")
    dhcp = Dnsmasq(DHCPConfig(interface, network, base_url, directory, proxy=proxy))
    dhcp.write(plan)
    problem = dhcp.check()
    if problem:
        raise BootStartFailed(f"dnsmasq refuses its configuration: {problem}")
    return dhcp


class BootRunner:
    """``service`` listening on ``host:port`` on a thread, and ``dhcp`` (if any) serving
    the plan's reservations; ``start`` returns once the server listens."""

    def __init__(
        self, service: BootService, host: str, port: int, dhcp: Dnsmasq | None = None
    ) -> None:
        self.service, self.host, self.port, self.dhcp = service, host, port, dhcp
        self.server, self.files = boot_server(service.app, host, port)
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return self.files.describe()

    def media_url(self, node: str, expires: int) -> str:
        """Where ``node``'s BMC reads its virtual media image (``strata.boot.media``)."""
        content = self.service.content
        return media_url(content.base_url, content.signer, node, expires)

    @property
    def running(self) -> bool:
        """Started, and its server thread still serves."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> None:
        if self.dhcp is not None:
            self.dhcp.start(self.service.content.plan)
        self._thread = threading.Thread(target=self.server.run, name="boot-service", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise BootStartFailed(
                    f"the boot service could not listen on {self.host}:{self.port}"
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """dnsmasq first, then the server: once the boot port is free, DHCP has stopped
        too (a successor waiting for the port starts after both: ``strata.pivot.resume``)."""
        if self.dhcp is not None:
            self.dhcp.stop()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
