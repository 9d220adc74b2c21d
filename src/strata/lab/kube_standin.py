"""Kubernetes on a lab machine's behalf: the stand-in OS cannot run it under TCG, so
the lab runs the real programs in its network namespace, configured only from what
the machine's Ignition carried.

- The first control-plane node (its kubeadm config holds an ``InitConfiguration``):
  the layer's VIP (``controlPlaneEndpoint``) goes on the provisioning bridge, as
  kube-vip would put it there; etcd, kube-apiserver and kube-controller-manager start
  on the PKI the config carried (``/etc/kubernetes/pki``), at the VIP; what ``kubeadm
  init`` writes to the API is written (``strata.lab.kubeadm_init``); then its kubelet.
- Every other node (``JoinConfiguration``): token discovery and a kubelet that
  bootstraps its own credential (``strata.lab.kubelet``).

Each machine's kubelet listens on an address of its own on the namespace's loopback,
198.18.0.N (RFC 2544's benchmarking range): the machine itself holds its topology
address on the bridge. A machine that hands over a config again (it was reinstalled)
gets its stand-in started afresh.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from strata.boot.dhcp import die_with_parent
from strata.errors import StrataError
from strata.kube.pki import ClusterPKI
from strata.lab.control_plane import (
    ControlPlane,
    ControlPlaneSpec,
    start_control_plane,
    wait_until,
)
from strata.lab.ignition_files import IgnitionFiles, read_files
from strata.lab.kube_processes import KubeProcess, LabKubeError
from strata.lab.kubeadm_config import KUBEADM_CONFIG, KubeadmConfig, parse_kubeadm
from strata.lab.kubeadm_init import bootstrap_objects, create_or_replace
from strata.lab.kubelet import DISCOVERY_TIMEOUT, NodeKubelet, discover, init_node_kubeconfig
from strata.lab.network import ip_command

__all__ = ["KubeStandIn", "MachineStandIn", "kubeadm_init"]

log = logging.getLogger("strata.lab.kube")
KUBELET_NETWORK = ipaddress.ip_network("198.18.0.0/15")
PKI_DIR = "/etc/kubernetes/pki"
CNI_CONF = "/etc/cni/net.d"
CONTROL_PLANE_LABELS = (
    "node-role.kubernetes.io/control-plane",
    "node.kubernetes.io/exclude-from-external-load-balancers",
)
_HOSTNAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


@dataclass
class MachineStandIn:
    """One machine's Kubernetes: a thread that starts it and lives as long as its
    processes (they die with it: ``die_with_parent`` follows the spawning thread)."""

    name: str
    files: IgnitionFiles
    directory: Path
    socket_dir: Path
    node_ip: str
    bridge: str
    stopping: threading.Event = field(default_factory=threading.Event)
    plane: ControlPlane | None = None
    kubelet: NodeKubelet | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"standin-{self.name}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(60)

    def processes(self) -> list[KubeProcess]:
        """Its control plane's (on the init node), then its containerd and kubelet."""
        found = [*(self.plane.processes if self.plane else ())]
        return found + list(self.kubelet.processes if self.kubelet else ())

    def describe(self) -> dict[str, object]:
        """What runs for this machine (for ``GET /v1/machines`` and tests)."""
        return {
            "address": self.node_ip,
            "api": self.plane.url if self.plane else None,
            "processes": {p.name: p.alive() for p in self.processes()},
            "error": self.error,
        }

    def _run(self) -> None:
        try:
            self._bring_up()
        except (StrataError, OSError, httpx.HTTPError) as err:
            self.error = str(err)
            log.error("%s: %s", self.name, err)
        except Exception as err:  # a config the lab misreads: say so, keep the daemon up
            self.error = f"{type(err).__name__}: {err}"
            log.exception("%s: the stand-in failed", self.name)
        self._watch()
        if self.kubelet is not None:
            self.kubelet.stop()
        if self.plane is not None:
            self.plane.stop()

    def _watch(self) -> None:
        """Until stopped: logs, once, a process of this machine that exited, with the
        tail of its log (what a machine's journal would show)."""
        reported: set[str] = set()
        while not self.stopping.wait(2.0):
            for process in self.processes():
                if not process.alive() and process.name not in reported:
                    reported.add(process.name)
                    log.error("%s: %s exited\n%s", self.name, process.name, process.tail(15))

    def _bring_up(self) -> None:
        text = self.files.text(KUBEADM_CONFIG)
        if text is None:
            log.info("%s: no kubeadm config in its Ignition: nothing to stand in for", self.name)
            return
        config = parse_kubeadm(text)
        if config.node_name != self.name:
            raise LabKubeError(
                f"its kubeadm config registers Node {config.node_name!r}, not its host name"
            )
        kubelet = NodeKubelet(
            config, self.directory, self.socket_dir, self.node_ip, self.files.under(CNI_CONF)
        )
        if config.init is not None:
            pki = self._pki()  # four keys checked against their certificates: once
            ca_pem = self._init(config, pki)
            kubeconfig = init_node_kubeconfig(config, pki.ca, _now())
            bootstrap = False
        else:
            deadline = time.monotonic() + DISCOVERY_TIMEOUT
            ca_pem, kubeconfig = discover(config, deadline, self.stopping.is_set)
            bootstrap = True
            log.info("%s: discovery done: the cluster's CA is pinned", self.name)
        if self.stopping.is_set():
            return
        _add_address(self.node_ip, "lo")
        self.kubelet = kubelet  # before it starts: stop() ends what did start
        kubelet.start(ca_pem, kubeconfig, bootstrap, die_with_parent)
        log.info("%s: kubelet started at %s (%s)", self.name, self.node_ip, kubelet.directory)
        if self.plane is not None:
            self._mark_control_plane(self.plane, config.node_name)

    def _mark_control_plane(self, plane: ControlPlane, node: str) -> None:
        """kubeadm's mark-control-plane phase, once the Node registered: its role label
        and the NoSchedule taint (phases/markcontrolplane)."""
        path = f"/api/v1/nodes/{node}"
        taint = {"key": CONTROL_PLANE_LABELS[0], "effect": "NoSchedule"}
        patch: dict[str, object] = {
            "metadata": {"labels": dict.fromkeys(CONTROL_PLANE_LABELS, "")},
            "spec": {"taints": [taint]},
        }
        headers = {"Content-Type": "application/strategic-merge-patch+json"}
        with plane.client() as admin:
            wait_until(
                lambda: self.stopping.is_set() or admin.get(path).status_code == 200,
                DISCOVERY_TIMEOUT,
                f"Node {node} to register",
            )
            if not self.stopping.is_set():
                admin.patch(path, json=patch, headers=headers).raise_for_status()
                log.info("%s: marked as a control-plane node", self.name)

    def _pki(self) -> ClusterPKI:
        pki = {name: data.decode() for name, data in self.files.under(PKI_DIR).items()}
        return ClusterPKI.from_files(pki)

    def _init(self, config: KubeadmConfig, pki: ClusterPKI) -> str:
        """What ``kubeadm init`` does, at the layer's VIP on the bridge."""
        _add_address(config.endpoint()[0], self.bridge)
        self.plane = kubeadm_init(
            config, pki, self.directory / "control-plane", die_with_parent, self.name
        )
        return pki.ca.cert_pem


def kubeadm_init(
    config: KubeadmConfig,
    pki: ClusterPKI,
    directory: Path,
    before_exec: Callable[[], None] | None = None,
    name: str = "",
) -> ControlPlane:
    """What ``kubeadm init`` does for the init node whose config is ``config``: etcd,
    kube-apiserver and kube-controller-manager on ``pki`` at the config's
    ``controlPlaneEndpoint`` (the VIP, already an address of this host), their files
    in ``directory``, then kubeadm init's API objects (``bootstrap_objects``). Raises
    ``LabKubeError`` (what it started is stopped)."""
    vip, port = config.endpoint()
    networking = config.cluster.get("networking") or {}
    spec = ControlPlaneSpec(
        directory=directory,
        pki=pki,
        bind=vip,
        port=port,
        names=tuple(map(str, (config.cluster.get("apiServer") or {}).get("certSANs") or [])),
        service_cidr=str(networking.get("serviceSubnet") or "10.96.0.0/12"),
        pod_cidr=networking.get("podSubnet"),
        dns_domain=str(networking.get("dnsDomain") or "cluster.local"),
        extra_args={c: config.extra_args(c) for c in ("apiServer", "controllerManager")},
    )
    plane = start_control_plane(spec, before_exec=before_exec)
    log.info("%s: control plane up at %s in %.1f s", name, plane.url, plane.started_in)
    try:
        with plane.client() as admin:
            for manifest in bootstrap_objects(
                config.init or {}, config.cluster, plane.url, pki.ca.cert_pem, _now()
            ):
                create_or_replace(admin, manifest)
    except BaseException:
        plane.stop()
        raise
    log.info("%s: kubeadm init's objects written (token, RBAC, cluster-info)", name)
    return plane


@dataclass
class KubeStandIn:
    """Every machine's stand-in, by machine name. ``workdir``: the lab's directory;
    ``run_dir``: short paths for sockets; ``bridge``: where a layer's VIP goes."""

    workdir: Path
    run_dir: Path
    bridge: str
    machines: dict[str, MachineStandIn] = field(default_factory=dict)
    _addresses: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _handing_over: threading.Lock = field(default_factory=threading.Lock)

    def hand_over(self, config: bytes) -> str:
        """A machine hands over the Ignition config it booted with; returns the machine's
        name (its ``/etc/hostname``). Raises ``StrataError`` if the config cannot be read
        or names no valid host; starts the machine's stand-in otherwise, after stopping
        and removing the one it had (hand-overs are taken one at a time)."""
        files = read_files(config)
        name = (files.text("/etc/hostname") or "").strip()
        if not _HOSTNAME.fullmatch(name):
            raise LabKubeError(f"the config names no valid host (/etc/hostname: {name!r})")
        with self._handing_over:
            with self._lock:
                previous = self.machines.pop(name, None)
                address = self._addresses.setdefault(
                    name, str(KUBELET_NETWORK[len(self._addresses) + 1])
                )
            if previous is not None:
                log.info("%s: handed over a config again (reinstalled): starting afresh", name)
                previous.stop()
                shutil.rmtree(previous.directory, ignore_errors=True)
                shutil.rmtree(previous.socket_dir, ignore_errors=True)
            machine = MachineStandIn(
                name, files, self.workdir / "kube" / name, self.run_dir / name, address, self.bridge
            )
            with self._lock:
                self.machines[name] = machine
            machine.start()
        return name

    def stop(self) -> None:
        """Stops every machine's stand-in, all at once (each stops its own processes)."""
        with self._lock:
            machines = list(self.machines.values())
        for machine in machines:
            machine.stopping.set()
        for machine in reversed(machines):
            machine.stop()


def _add_address(address: str, device: str) -> None:
    ip_command("addr", "replace", f"{address}/{128 if ':' in address else 32}", "dev", device)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
