"""A real Kubernetes control plane — etcd, kube-apiserver, kube-controller-manager —
running on a layer's PKI: what the lab brings up at a layer's VIP on behalf of its
first control-plane node, and what the tests run on 127.0.0.1.

Certificates the way ``kubeadm init`` makes them from the CAs it is handed
(cmd/kubeadm/app/phases/certs): the API server's serving certificate for its
addresses, the ``kubernetes`` service's first IP and names; the front-proxy client; a
client certificate for the controller manager (``system:kube-controller-manager``).
The controller manager signs CSRs with the cluster CA and runs the bootstrap signer and
token cleaner (kubeadm's ``--controllers=*,bootstrapsigner,tokencleaner``). Flags that
work with the v1.20.2 binaries: ``../shared/kube-assets/README.md``.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.pki import CertAndKey, ClusterPKI, issue_client_cert, issue_serving_cert
from strata.lab.kube_processes import KubeProcess, LabKubeError, binary, spawn, write_file
from strata.lab.ports import free_port

__all__ = ["ControlPlane", "ControlPlaneSpec", "start_control_plane"]

START_TIMEOUT = 120.0  # s: ~2-5 s alone; generous for a 2-core machine under load
CERT_LIFETIME = datetime.timedelta(days=365)  # kubeadm's for leaf certificates
BIND_ATTEMPTS = 3  # a port another process took first is chosen again
_ADDRESS_IN_USE = "address already in use"  # what Go's net.Listen says for EADDRINUSE


@dataclass(frozen=True)
class ControlPlaneSpec:
    """Where and how to run: ``bind`` is the API server's address (the VIP in the lab),
    ``names`` extra subjectAltNames for its certificate, CIDRs as in ClusterConfiguration,
    ``extra_args`` per program as kubeadm's ``apiServer``/``controllerManager.extraArgs``."""

    directory: Path
    pki: ClusterPKI
    bind: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    names: tuple[str, ...] = ()
    service_cidr: str = "10.0.0.0/24"
    pod_cidr: str | None = None
    dns_domain: str = "cluster.local"
    extra_args: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass
class ControlPlane:
    """A running control plane: its URL, Strata-style admin credential (CN
    ``strata-admin``, O ``system:masters``) and processes."""

    spec: ControlPlaneSpec
    url: str
    admin: CertAndKey
    processes: list[KubeProcess] = field(default_factory=list)
    started_in: float = 0.0  # s from starting etcd to both answering

    @property
    def pki(self) -> ClusterPKI:
        return self.spec.pki

    @property
    def directory(self) -> Path:
        return self.spec.directory

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the layer's CA only."""
        return ssl.create_default_context(cadata=self.pki.ca.cert_pem)

    def client(self) -> httpx.Client:
        """An httpx client pinned to the layer's CA, authenticated as the admin."""
        context = self.ssl_context()
        pki = _pki(self.directory)
        context.load_cert_chain(pki / "strata-admin.crt", pki / "strata-admin.key")
        return httpx.Client(base_url=self.url, verify=context, timeout=30.0)

    def check_alive(self) -> None:
        for process in self.processes:
            if not process.alive():
                raise LabKubeError(f"{process.name} exited\n{self.logs()}")

    def logs(self, lines: int = 30) -> str:
        return "\n".join(p.tail(lines) for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls ``check`` every 0.1 s; ``LabKubeError`` after ``timeout`` s naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise LabKubeError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def start_control_plane(
    spec: ControlPlaneSpec, *, before_exec: Callable[[], None] | None = None
) -> ControlPlane:
    """Starts etcd, kube-apiserver and kube-controller-manager; returns once the API
    server's ``/readyz`` and the controller manager's ``/healthz`` answer ``ok``.
    Raises ``LabKubeError`` (with the programs' log tails) and stops what it started.
    A port taken between choosing and binding it (``address already in use``) is
    chosen again, up to ``BIND_ATTEMPTS`` times."""
    for attempt in range(1, BIND_ATTEMPTS + 1):
        try:
            return _start(spec, before_exec)
        except LabKubeError as err:
            if _ADDRESS_IN_USE not in str(err) or attempt == BIND_ATTEMPTS:
                raise
            shutil.rmtree(spec.directory / "etcd", ignore_errors=True)
    raise AssertionError("unreachable")


def _start(spec: ControlPlaneSpec, before_exec: Callable[[], None] | None) -> ControlPlane:
    now = datetime.datetime.now(datetime.UTC)
    port = spec.port or free_port(spec.bind)
    url = f"https://{_host(spec.bind)}:{port}"
    admin = issue_client_cert(
        spec.pki.ca, "strata-admin", ["system:masters"], datetime.timedelta(hours=4), now=now
    )
    plane = ControlPlane(spec, url, admin)
    _write_certificates(spec, url, now)
    write_file(_pki(spec.directory) / "strata-admin.crt", admin.cert_pem, 0o644)
    write_file(_pki(spec.directory) / "strata-admin.key", admin.key_pem, 0o600)
    etcd, peer, manager_port = free_port(), free_port(), free_port()
    started = time.monotonic()
    try:
        for name, args in (
            ("etcd", _etcd_args(spec.directory, etcd, peer)),
            ("kube-apiserver", _apiserver_args(spec, etcd, port)),
            ("kube-controller-manager", _controller_manager_args(spec, manager_port)),
        ):
            process = spawn(name, args, spec.directory, before_exec=before_exec)
            plane.processes.append(process)
            if name == "kube-apiserver":
                _await_ok(plane, url, "/readyz", True)
        _await_ok(plane, f"https://127.0.0.1:{manager_port}", "/healthz", False)
    except BaseException:
        plane.stop()
        raise
    plane.started_in = time.monotonic() - started
    return plane


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _await_ok(plane: ControlPlane, url: str, path: str, admin: bool) -> None:
    def ok() -> bool:
        plane.check_alive()
        try:
            response = client.get(path)
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.text == "ok"

    with plane.client() if admin else httpx.Client(base_url=url, verify=False) as client:
        wait_until(ok, START_TIMEOUT, f"{path} at {url}")


def _pki(directory: Path) -> Path:
    return directory / "pki"


def api_names(spec: ControlPlaneSpec) -> list[str]:
    """The serving certificate's names, as kubeadm's ``GetAPIServerAltNames``: the
    bind address and extra names, the ``kubernetes`` service's first IP and DNS names."""
    service_ip = str(next(ipaddress.ip_network(spec.service_cidr).hosts()))
    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc"]
    dns.append(f"kubernetes.default.svc.{spec.dns_domain}")
    return [spec.bind, *spec.names, service_ip, "127.0.0.1", "localhost", *dns]


def _write_certificates(spec: ControlPlaneSpec, url: str, now: datetime.datetime) -> None:
    pki = _pki(spec.directory)
    for name, text in spec.pki.files().items():
        write_file(pki / name, text, 0o600)
    serving = issue_serving_cert(
        spec.pki.ca, api_names(spec), CERT_LIFETIME, now=now, common_name="kube-apiserver"
    )
    front_proxy = issue_client_cert(
        spec.pki.front_proxy_ca, "front-proxy-client", (), CERT_LIFETIME, now=now
    )
    manager = issue_client_cert(
        spec.pki.ca, "system:kube-controller-manager", (), CERT_LIFETIME, now=now
    )
    for stem, pair in (("apiserver", serving), ("front-proxy-client", front_proxy)):
        write_file(pki / f"{stem}.crt", pair.cert_pem, 0o644)
        write_file(pki / f"{stem}.key", pair.key_pem, 0o600)
    kubeconfig = admin_kubeconfig(
        url, spec.pki.ca.cert_pem, manager.cert_pem, manager.key_pem, user="kcm"
    )
    write_file(spec.directory / "controller-manager.conf", kubeconfig, 0o600)


def _etcd_args(directory: Path, client: int, peer: int) -> list[str]:
    return [
        binary("etcd"),
        "--name=strata",
        f"--data-dir={directory / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster=strata=http://127.0.0.1:{peer}",
        "--log-level=warn",
    ]


def _apiserver_args(spec: ControlPlaneSpec, etcd: int, port: int) -> list[str]:
    pki = _pki(spec.directory)
    flags = {
        "etcd-servers": f"http://127.0.0.1:{etcd}",
        "bind-address": spec.bind,
        "advertise-address": spec.bind,
        "secure-port": str(port),
        "cert-dir": str(spec.directory / "apiserver-certs"),
        "tls-cert-file": str(pki / "apiserver.crt"),
        "tls-private-key-file": str(pki / "apiserver.key"),
        "client-ca-file": str(pki / "ca.crt"),
        "service-account-key-file": str(pki / "sa.pub"),
        "service-account-signing-key-file": str(pki / "sa.key"),
        "service-account-issuer": f"https://kubernetes.default.svc.{spec.dns_domain}",
        # the aggregation layer's front proxy, as kubeadm configures it
        "requestheader-client-ca-file": str(pki / "front-proxy-ca.crt"),
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-username-headers": "X-Remote-User",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "proxy-client-cert-file": str(pki / "front-proxy-client.crt"),
        "proxy-client-key-file": str(pki / "front-proxy-client.key"),
        "authorization-mode": "Node,RBAC",
        "enable-admission-plugins": "NodeRestriction",
        "service-cluster-ip-range": spec.service_cidr,
        "allow-privileged": "true",
        "enable-bootstrap-token-auth": "true",
        "profiling": "false",
    }
    return _command("kube-apiserver", flags, spec.extra_args.get("apiServer", {}))


def _controller_manager_args(spec: ControlPlaneSpec, port: int) -> list[str]:
    pki = _pki(spec.directory)
    kubeconfig = str(spec.directory / "controller-manager.conf")
    flags = {
        "kubeconfig": kubeconfig,
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "bind-address": "127.0.0.1",
        "secure-port": str(port),
        "port": "0",  # no insecure port
        "cert-dir": str(spec.directory / "controller-manager-certs"),
        "cluster-signing-cert-file": str(pki / "ca.crt"),
        "cluster-signing-key-file": str(pki / "ca.key"),
        "root-ca-file": str(pki / "ca.crt"),
        "service-account-private-key-file": str(pki / "sa.key"),
        "use-service-account-credentials": "true",
        "controllers": "*,bootstrapsigner,tokencleaner",
        "leader-elect": "false",
        "service-cluster-ip-range": spec.service_cidr,
        "profiling": "false",
    }
    if spec.pod_cidr:  # kubeadm sets these when networking.podSubnet is given
        flags |= {"allocate-node-cidrs": "true", "cluster-cidr": spec.pod_cidr}
    return _command("kube-controller-manager", flags, spec.extra_args.get("controllerManager", {}))


def _command(name: str, flags: Mapping[str, str], extra: Mapping[str, str]) -> list[str]:
    """``--flag=value`` for each, ``extra`` overriding as kubeadm's extraArgs do."""
    merged = {**flags, **extra}
    return [binary(name), *(f"--{k}={v}" for k, v in merged.items())]
