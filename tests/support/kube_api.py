"""A real Kubernetes control plane for tests: etcd, kube-apiserver and
kube-controller-manager on 127.0.0.1, trusting nothing but Strata's own PKI.

The API server's serving certificate, its client CA, the front-proxy CA and the
service-account keys all come from ``strata.kube.pki``, so a test that talks to it
proves that Strata's PKI is accepted by the real thing. The controller manager signs
with Strata's CA and runs the bootstrap signer and token cleaner (kubeadm's
``--controllers=*,bootstrapsigner,tokencleaner``).

Binaries come the ecosystem's way: ``KUBEBUILDER_ASSETS`` names a directory holding
kube-apiserver and kube-controller-manager (controller-runtime's envtest convention);
``./dev test`` exports it. Unset, ``scripts/kube-assets.sh --no-build`` finds them:
the tarball in ``../shared/kube-assets/`` checked against its SHA256SUMS and extracted
once into ``~/.cache/strata/kube-assets/<version>/``, or, without shared data, what
that script built there from Debian's source package before; with neither, the test is
skipped saying so (and fails under ``CI=true``, see ``tests/support/shared.py``). etcd
is Debian's ``etcd-server``. Flags that work with these v1.20.2 binaries:
``../shared/kube-assets/README.md``.

Each process runs in its own session, dies with the test process (``PR_SET_PDEATHSIG``)
and is stopped by process group; its output goes to ``<name>.log`` in the fixture's
directory, whose tails ``logs()`` returns for a failure report.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.pki import (
    CertAndKey,
    ClusterPKI,
    generate_pki,
    issue_client_cert,
    issue_serving_cert,
)
from tests.support.shared import ROOT, shared_dir

VERSION = "1.20.2"
ASSETS_SCRIPT = ROOT / "scripts" / "kube-assets.sh"
BINARIES = ("kube-apiserver", "kube-controller-manager")
SERVICE_CIDR = "10.0.0.0/24"
START_TIMEOUT = 120.0  # s: ~2-5 s alone; generous for a 2-core machine shared with other runs
T = TypeVar("T")


def _absent(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI always has it)")
    pytest.skip(reason)


def assets_dir() -> Path:
    """The directory holding the control-plane binaries (see the module's docstring)."""
    named = os.environ.get("KUBEBUILDER_ASSETS")
    if named:
        missing = [b for b in BINARIES if not os.access(Path(named, b), os.X_OK)]
        if missing:
            pytest.fail(f"KUBEBUILDER_ASSETS={named} has no {', '.join(missing)}")
        return Path(named)
    # The one place that extracts (and builds, for ./dev): it never builds here.
    found = subprocess.run(
        [str(ASSETS_SCRIPT), "--no-build"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "STRATA_SHARED": str(shared_dir())},
    )
    if found.returncode == 3:  # no shared data, nothing built
        _absent(found.stderr.strip())
    if found.returncode != 0:
        pytest.fail(f"{ASSETS_SCRIPT} --no-build failed: {found.stderr.strip()}")
    return Path(found.stdout.strip())


def etcd_binary() -> str:
    found = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists() else None)
    if found is None:
        _absent("etcd is missing: ./dev test installs it (apt-get install etcd-server)")
    assert found is not None
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Polls ``check`` until it returns something other than None; fails after
    ``timeout`` seconds saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies (prctl(2))."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def _spawn(name: str, args: list[str], directory: Path) -> _Process:
    log = directory / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=directory,
            start_new_session=True,
            # the death signal follows the thread that forks: pytest's main thread
            preexec_fn=_die_with_parent,
        )
    return _Process(name, popen, log)


@dataclass
class ControlPlane:
    """A running etcd + kube-apiserver + kube-controller-manager."""

    directory: Path
    url: str
    pki: ClusterPKI
    admin: CertAndKey  # CN strata-admin, O system:masters
    # seconds from starting etcd to the API server and the controller manager answering
    started_in: float = 0.0
    processes: list[_Process] = field(default_factory=list)

    def path(self, name: str) -> Path:
        return self.directory / name

    def ssl_context(self, credential: CertAndKey | None = None) -> ssl.SSLContext:
        """Trusts Strata's CA only; presents ``credential`` when given."""
        context = ssl.create_default_context(cadata=self.pki.ca.cert_pem)
        if credential is not None:
            cert, key = _write_credential(self.directory, credential)
            context.load_cert_chain(cert, key)
        return context

    def client(self, credential: CertAndKey | None = None) -> httpx.Client:
        """An httpx client pinned to Strata's CA, authenticated as ``credential``
        (default: Strata's admin)."""
        verify = self.ssl_context(credential or self.admin)
        return httpx.Client(base_url=self.url, verify=verify, timeout=30.0)

    def admin_kubeconfig(self) -> Path:
        path = self.path("strata-admin.kubeconfig")
        text = admin_kubeconfig(
            self.url, self.pki.ca.cert_pem, self.admin.cert_pem, self.admin.key_pem
        )
        path.write_text(text)
        path.chmod(0o600)
        return path

    def check_alive(self) -> None:
        for process in self.processes:
            if process.popen.poll() is not None:
                pytest.fail(f"{process.name} exited with {process.popen.returncode}\n{self.logs()}")

    def logs(self, lines: int = 40) -> str:
        parts = []
        for process in self.processes:
            tail = process.log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(
                f"--- {process.name} ({process.log}), last {len(tail)} lines\n" + "\n".join(tail)
            )
        return "\n".join(parts)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _write_credential(directory: Path, credential: CertAndKey) -> tuple[Path, Path]:
    stem = hashlib.sha256(credential.cert_pem.encode()).hexdigest()[:16]
    cert, key = directory / f"client-{stem}.crt", directory / f"client-{stem}.key"
    if not cert.exists():
        key.write_text(credential.key_pem)
        key.chmod(0o600)
        cert.write_text(credential.cert_pem)
    return cert, key


def _write_pki(directory: Path, pki: ClusterPKI, now: datetime.datetime) -> None:
    for name, text in pki.files().items():
        path = directory / "pki" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
    names = ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "10.0.0.1"]
    serving = issue_serving_cert(
        pki.ca, names, datetime.timedelta(days=1), now=now, common_name="kube-apiserver"
    )
    front_proxy = issue_client_cert(
        pki.front_proxy_ca, "front-proxy-client", (), datetime.timedelta(days=1), now=now
    )
    for stem, pair in (("apiserver", serving), ("front-proxy-client", front_proxy)):
        (directory / "pki" / f"{stem}.crt").write_text(pair.cert_pem)
        (directory / "pki" / f"{stem}.key").write_text(pair.key_pem)
        (directory / "pki" / f"{stem}.key").chmod(0o600)


def _etcd_args(directory: Path, client: int, peer: int) -> list[str]:
    return [
        etcd_binary(),
        "--name=strata-test",
        f"--data-dir={directory / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster=strata-test=http://127.0.0.1:{peer}",
        "--log-level=warn",
    ]


def _apiserver_args(assets: Path, directory: Path, etcd: int, port: int) -> list[str]:
    pki = directory / "pki"
    return [
        str(assets / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{etcd}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={directory / 'apiserver-certs'}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc",
        # the aggregation layer's front proxy, as kubeadm configures it
        f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
        "--authorization-mode=Node,RBAC",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--enable-bootstrap-token-auth",
        "--profiling=false",
    ]


def _controller_manager_args(assets: Path, directory: Path, port: int) -> list[str]:
    pki = directory / "pki"
    return [
        str(assets / "kube-controller-manager"),
        f"--kubeconfig={directory / 'controller-manager.kubeconfig'}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--port=0",  # no insecure port (10252 would clash with other runs)
        f"--cert-dir={directory / 'controller-manager-certs'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        "--use-service-account-credentials",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--leader-elect=false",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--profiling=false",
    ]


def _ready(client: httpx.Client, path: str, plane: ControlPlane) -> bool | None:
    plane.check_alive()
    try:
        response = client.get(path)
    except httpx.TransportError:
        return None
    return True if response.status_code == 200 and response.text == "ok" else None


def start_control_plane(directory: Path, pki: ClusterPKI | None = None) -> ControlPlane:
    """Starts etcd, kube-apiserver and kube-controller-manager and returns once the API
    server's /readyz and the controller manager's /healthz answer ``ok``. ``pki``: the
    layer's PKI to run on (one Strata's store keeps); a new one when not given."""
    assets, now = assets_dir(), datetime.datetime.now(datetime.UTC)
    pki = pki or generate_pki(now)
    _write_pki(directory, pki, now)
    admin = issue_client_cert(
        pki.ca, "strata-admin", ["system:masters"], datetime.timedelta(hours=1), now=now
    )
    manager = issue_client_cert(
        pki.ca, "system:kube-controller-manager", (), datetime.timedelta(days=1), now=now
    )
    etcd, peer, port, manager_port = (free_port() for _ in range(4))
    plane = ControlPlane(directory, f"https://127.0.0.1:{port}", pki, admin)
    (directory / "controller-manager.kubeconfig").write_text(
        admin_kubeconfig(
            plane.url,
            pki.ca.cert_pem,
            manager.cert_pem,
            manager.key_pem,
            user="kube-controller-manager",
        )
    )
    started = time.monotonic()
    try:
        plane.processes.append(_spawn("etcd", _etcd_args(directory, etcd, peer), directory))
        plane.processes.append(
            _spawn("kube-apiserver", _apiserver_args(assets, directory, etcd, port), directory)
        )
        with plane.client() as client:
            wait_for(
                lambda: _ready(client, "/readyz", plane), START_TIMEOUT, "kube-apiserver /readyz"
            )
        args = _controller_manager_args(assets, directory, manager_port)
        plane.processes.append(_spawn("kube-controller-manager", args, directory))
        with httpx.Client(base_url=f"https://127.0.0.1:{manager_port}", verify=False) as client:
            wait_for(
                lambda: _ready(client, "/healthz", plane),
                START_TIMEOUT,
                "kube-controller-manager /healthz",
            )
    except BaseException:
        print(plane.logs())
        plane.stop()
        raise
    plane.started_in = time.monotonic() - started
    return plane


@contextlib.contextmanager
def control_plane(directory: Path, pki: ClusterPKI | None = None) -> Iterator[ControlPlane]:
    plane = start_control_plane(directory, pki)
    try:
        yield plane
    finally:
        plane.stop()
