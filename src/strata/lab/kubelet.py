"""A real kubelet, with its own containerd, standing in for one lab machine's.

Its credentials come only from what the machine's Ignition carried:

- a joining node does what ``kubeadm join`` does (cmd/kubeadm/app/discovery/token):
  read ``kube-public/cluster-info`` anonymously, check the bootstrap signer's JWS with
  the token, pin the CA by its ``sha256:`` hash (``strata.kube.discovery``), read
  cluster-info again over TLS with that CA, and write the bootstrap kubeconfig; the
  kubelet then does its own TLS bootstrap (a CSR, approved and signed by the
  controller manager);
- the first control-plane node holds the cluster CA, and, as ``kubeadm init`` does,
  gets ``kubelet.conf`` with a client certificate ``system:node:<name>`` signed by it.

The kubelet's flags are kubeadm's plus ``nodeRegistration.kubeletExtraArgs`` (labels,
provider ID); its KubeletConfiguration what kubeadm writes, less what one host running
several kubelets cannot share (each listens on the machine's stand-in address, not on
every address; cgroups per QoS off). Flags and settings verified with these binaries:
``../shared/kube-assets/README.md``.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from strata.kube.discovery import DiscoveryError, verify_cluster_info
from strata.kube.kubeconfig import admin_kubeconfig, bootstrap_kubeconfig
from strata.kube.pki import CertAndKey, issue_client_cert
from strata.kube.tokens import BootstrapToken
from strata.lab.kube_processes import (
    KubeProcess,
    LabKubeError,
    binary,
    cni_bin_dir,
    spawn,
    write_file,
)
from strata.lab.kubeadm_config import KubeadmConfig

__all__ = ["NodeKubelet", "discover", "kubelet_flags"]

CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
DISCOVERY_TIMEOUT = 900.0  # s: the API may come up long after a worker asked
CNI_CONF = "/etc/cni/net.d"
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass
class NodeKubelet:
    """One machine's containerd and kubelet. ``directory``: its files; ``socket_dir``:
    a short path for what holds sockets — containerd's state, the kubelet's root
    directory (a socket path holds 108 bytes)."""

    config: KubeadmConfig
    directory: Path
    socket_dir: Path
    node_ip: str
    cni: Mapping[str, bytes]  # the machine's /etc/cni/net.d files, by name
    processes: tuple[KubeProcess, ...] = ()

    def start(
        self, ca_pem: str, kubeconfig: str, bootstrap: bool, before_exec: Callable[[], None]
    ) -> None:
        """Writes the files and starts containerd, then the kubelet. ``ca_pem``: the
        cluster's CA; ``kubeconfig``: the bootstrap kubeconfig (``bootstrap``) or the
        kubelet's own. Raises ``LabKubeError`` if containerd does not start."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_file(self.directory / "ca.crt", ca_pem, 0o644)
        self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, data in self.cni.items():
            if not _FILE_NAME.fullmatch(name):  # a name, not a path out of the directory
                raise LabKubeError(f"{CNI_CONF}/{name} is not a CNI configuration file name")
            write_file(self.directory / "cni" / name, data.decode(), 0o644)
        name = "bootstrap-kubelet.conf" if bootstrap else "kubelet.conf"
        write_file(self.directory / name, kubeconfig, 0o600)
        write_file(self.directory / "containerd.toml", self._containerd_config(), 0o644)
        write_file(self.directory / "config.yaml", self._kubelet_config(), 0o644)
        containerd = spawn(
            "containerd",
            [binary("containerd"), "--config", str(self.directory / "containerd.toml")],
            self.directory,
            before_exec=before_exec,
        )
        self.processes = (containerd,)
        _await_socket(self.socket_dir / "containerd.sock", containerd)
        flags = kubelet_flags(self.config, self.directory, self.socket_dir, self.node_ip, bootstrap)
        args = [binary("kubelet"), *(f"--{k}={v}" for k, v in flags.items())]
        args = [*self._own_boot(), *args]
        self.processes += (spawn("kubelet", args, self.directory, before_exec=before_exec),)

    def _own_boot(self) -> list[str]:
        """The machine's own boot ID for its kubelet (a Node's ``nodeInfo.bootID``): one
        host runs every lab machine's kubelet, and a real machine's boot ID is its own
        and new at every boot — a reinstalled machine's Ready is news. A mount namespace
        of the kubelet's own binds a new ID over ``/proc/sys/kernel/random/boot_id``."""
        boot_id = self.directory / "boot_id"
        write_file(boot_id, f"{uuid.uuid4()}\n", 0o444)
        bind = 'mount --bind "$0" /proc/sys/kernel/random/boot_id && exec "$@"'
        unshare = [binary("unshare"), "--mount", "--propagation", "slave"]
        return [*unshare, binary("sh"), "-c", bind, str(boot_id)]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        # the kubelet mounts its root directory on itself; its pods' volumes below it
        root = self.socket_dir / "root"
        subprocess.run(["umount", "--recursive", "--lazy", str(root)], capture_output=True)

    def _containerd_config(self) -> str:
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        return "\n".join(
            [
                "version = 2",
                f'root = "{self.directory / "containerd" / "root"}"',
                f'state = "{self.socket_dir / "state"}"',
                "[grpc]",
                f'  address = "{self.socket_dir / "containerd.sock"}"',
                "[metrics]",
                '  address = ""',
                f"[{cri}]",
                '  stream_server_address = "127.0.0.1"',
                '  stream_server_port = "0"',
                f"[{cri}.containerd]",
                '  snapshotter = "native"',
                f"[{cri}.cni]",
                f'  bin_dir = "{cni_bin_dir()}"',
                f'  conf_dir = "{self.directory / "cni"}"',
                "",
            ]
        )

    def _kubelet_config(self) -> str:
        service = (self.config.cluster.get("networking") or {}).get("serviceSubnet")
        dns = str(ipaddress.ip_network(service or "10.96.0.0/12")[10])  # kubeadm's choice
        return "\n".join(
            [
                "apiVersion: kubelet.config.k8s.io/v1beta1",
                "kind: KubeletConfiguration",
                f"address: {self.node_ip}",
                f"healthzBindAddress: {self.node_ip}",
                "readOnlyPort: 0",
                "authentication:",
                "  anonymous: {enabled: false}",
                "  webhook: {enabled: true}",
                f"  x509: {{clientCAFile: {self.directory / 'ca.crt'}}}",
                "authorization: {mode: Webhook}",
                f"clusterDNS: [{dns}]",
                "clusterDomain: cluster.local",
                "rotateCertificates: true",
                "cgroupDriver: cgroupfs",
                "cgroupsPerQOS: false",
                "enforceNodeAllocatable: []",
                "failSwapOn: false",
                "makeIPTablesUtilChains: false",
                "",
            ]
        )


def kubelet_flags(
    config: KubeadmConfig, directory: Path, sockets: Path, node_ip: str, bootstrap: bool
) -> dict[str, str]:
    """kubeadm's kubelet flags (``/var/lib/kubelet/kubeadm-flags.env`` and the drop-in
    of its kubelet.service) with ``kubeletExtraArgs`` on top, in this lab's paths."""
    flags = {
        "config": str(directory / "config.yaml"),
        "kubeconfig": str(directory / "kubelet.conf"),
        "cert-dir": str(directory / "pki"),
        "root-dir": str(sockets / "root"),  # it holds sockets too: a short path
        "container-runtime": "remote",
        "container-runtime-endpoint": f"unix://{sockets / 'containerd.sock'}",
        "hostname-override": config.node_name,
        "node-ip": node_ip,
    }
    if bootstrap:
        flags["bootstrap-kubeconfig"] = str(directory / "bootstrap-kubelet.conf")
    return flags | config.kubelet_args()


def discover(
    config: KubeadmConfig, deadline: float, stopped: Callable[[], bool] = lambda: False
) -> tuple[str, str]:
    """Token discovery for a joining node: the cluster's CA (PEM) and the bootstrap
    kubeconfig. Retries while the API is unreachable or cluster-info unsigned for the
    token, until ``deadline`` (``time.monotonic()``) or ``stopped()``; a cluster that
    fails the pin or the signature is refused at once (``DiscoveryError``)."""
    bootstrap = config.discovery()
    token = str(bootstrap.get("token") or "")
    hashes = [str(h) for h in bootstrap.get("caCertHashes") or []]
    host, port = config.endpoint()
    url = f"https://{host}:{port}"
    while True:
        data = _cluster_info(url, None)
        if data is not None and f"jws-kubeconfig-{token.partition('.')[0]}" in data:
            endpoint = verify_cluster_info(data, token, hashes)
            again = _cluster_info(endpoint.server, endpoint.ca_pem)
            if again is None or again.get("kubeconfig") != data.get("kubeconfig"):
                raise DiscoveryError("cluster-info changed when read again over pinned TLS")
            # the joiner does not know the token's expiry: the kubeconfig holds its value only
            parsed = BootstrapToken.parse(token, datetime.datetime.max.replace(tzinfo=datetime.UTC))
            return endpoint.ca_pem, bootstrap_kubeconfig(endpoint.server, endpoint.ca_pem, parsed)
        if time.monotonic() > deadline or stopped():
            raise LabKubeError(f"no signed cluster-info at {url} for the machine's token")
        time.sleep(2.0)


def init_node_kubeconfig(config: KubeadmConfig, ca: CertAndKey, now: datetime.datetime) -> str:
    """``kubelet.conf`` as ``kubeadm init`` writes it on the first control-plane node."""
    host, port = config.endpoint()
    name = config.node_name
    client = issue_client_cert(
        ca, f"system:node:{name}", ["system:nodes"], datetime.timedelta(days=365), now=now
    )
    return admin_kubeconfig(
        f"https://{host}:{port}",
        ca.cert_pem,
        client.cert_pem,
        client.key_pem,
        user=f"system:node:{name}",
    )


def _cluster_info(url: str, ca_pem: str | None) -> dict[str, str] | None:
    verify: ssl.SSLContext | bool = False
    if ca_pem is not None:
        verify = ssl.create_default_context(cadata=ca_pem)
    try:
        with httpx.Client(base_url=url, verify=verify, timeout=10.0) as client:
            response = client.get(CLUSTER_INFO)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return None
    data: dict[str, str] = response.json().get("data") or {}
    return data


def _await_socket(path: Path, process: KubeProcess) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        if not process.alive() or time.monotonic() > deadline:
            raise LabKubeError(f"containerd did not start\n{process.tail()}")
        time.sleep(0.1)
