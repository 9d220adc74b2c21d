"""A real Kubernetes control plane for tests: etcd, kube-apiserver and
kube-controller-manager on 127.0.0.1, trusting nothing but Strata's own PKI — the one
the lab runs at a layer's VIP (``strata.lab.control_plane``), with test-side helpers.

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
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.pki import CertAndKey, ClusterPKI, generate_pki
from strata.lab.control_plane import ControlPlane as RunningPlane
from strata.lab.control_plane import ControlPlaneSpec
from strata.lab.control_plane import start_control_plane as lab_start
from strata.lab.kube_processes import LabKubeError
from strata.lab.ports import free_port as free_port
from tests.support.shared import ROOT, shared_dir

VERSION = "1.20.2"
ASSETS_SCRIPT = ROOT / "scripts" / "kube-assets.sh"
BINARIES = ("kube-apiserver", "kube-controller-manager")
SERVICE_CIDR = "10.0.0.0/24"
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
class ControlPlane:
    """A running etcd + kube-apiserver + kube-controller-manager
    (``strata.lab.control_plane``), with what tests need around it."""

    running: RunningPlane

    @property
    def directory(self) -> Path:
        return self.running.directory

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def pki(self) -> ClusterPKI:
        return self.running.pki

    @property
    def admin(self) -> CertAndKey:  # CN strata-admin, O system:masters
        return self.running.admin

    @property
    def started_in(self) -> float:  # s from starting etcd to both answering
        return self.running.started_in

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
        try:
            self.running.check_alive()
        except LabKubeError as err:
            pytest.fail(str(err))

    def logs(self, lines: int = 40) -> str:
        return self.running.logs(lines)

    def stop(self) -> None:
        self.running.stop()


def _write_credential(directory: Path, credential: CertAndKey) -> tuple[Path, Path]:
    stem = hashlib.sha256(credential.cert_pem.encode()).hexdigest()[:16]
    cert, key = directory / f"client-{stem}.crt", directory / f"client-{stem}.key"
    if not cert.exists():
        key.write_text(credential.key_pem)
        key.chmod(0o600)
        cert.write_text(credential.cert_pem)
    return cert, key


def start_control_plane(directory: Path, pki: ClusterPKI | None = None) -> ControlPlane:
    """Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 and returns
    once the API server's /readyz and the controller manager's /healthz answer ``ok``.
    ``pki``: the layer's PKI to run on (one Strata's store keeps); a new one when not
    given."""
    os.environ["KUBEBUILDER_ASSETS"] = str(assets_dir())  # where strata.lab looks
    etcd_binary()
    pki = pki or generate_pki(datetime.datetime.now(datetime.UTC))
    spec = ControlPlaneSpec(directory, pki, service_cidr=SERVICE_CIDR)
    try:
        running = lab_start(spec, before_exec=_die_with_parent)
    except LabKubeError as err:
        pytest.fail(str(err))
    return ControlPlane(running)


@contextlib.contextmanager
def control_plane(directory: Path, pki: ClusterPKI | None = None) -> Iterator[ControlPlane]:
    plane = start_control_plane(directory, pki)
    try:
        yield plane
    finally:
        plane.stop()
