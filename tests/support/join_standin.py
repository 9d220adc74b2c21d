"""Kubernetes on simulated machines' behalf, from the config each one installed: what
a machine's ``kubeadm init`` / ``kubeadm join`` and kubelet would do against a real
control plane, with a Python client where the lab runs a real kubelet
(``strata.lab.kube_standin``; that needs a network namespace of its own).

Handed a machine's live Ignition config (``MachineSimulator.on_first_boot``), it reads
the kubeadm config and PKI the installed system's config carries — nothing else:

- the init node (an ``InitConfiguration``): etcd, kube-apiserver and
  kube-controller-manager on the config's PKI at its ``controlPlaneEndpoint`` and what
  ``kubeadm init`` writes to the API (``strata.lab.kube_standin.kubeadm_init``), then
  its Node, registered with the ``system:node:<name>`` credential kubeadm init gives
  it;
- a joining node: token discovery (``cluster-info``, the bootstrap signer's JWS, the CA
  pinned by its hash: ``strata.lab.kubelet.discover``), then the kubelet's TLS
  bootstrap with the token — a CSR for ``system:node:<name>`` the real controller
  manager approves and signs — and its Node registered with that certificate.

A Node is registered as a kubelet registers it (``spec.providerID`` and ``--node-labels``
from ``kubeletExtraArgs``, then its ``Ready`` condition on the status subresource),
allowed by the API server's Node authorizer and NodeRestriction admission. A machine
named in ``silent`` never starts its kubelet: its Node never registers.

The layer's VIP must be an address of this host (a 127.0.0.0/8 one: loopback holds
all of them).
"""

from __future__ import annotations

import base64
import datetime
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strata.boot.dhcp import die_with_parent
from strata.kube.pki import ClusterPKI, issue_client_cert
from strata.lab.control_plane import ControlPlane
from strata.lab.ignition_files import read_files
from strata.lab.kube_standin import PKI_DIR, kubeadm_init
from strata.lab.kubeadm_config import KUBEADM_CONFIG, KubeadmConfig, parse_kubeadm
from strata.lab.kubelet import discover
from tests.support.kube_api import assets_dir, etcd_binary

__all__ = ["JoinStandIn"]

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
TIMEOUT = 600.0  # s: a hang guard for discovery and the CSR's signing, on a loaded host


@dataclass(frozen=True)
class NodeCredential:
    """What a node's kubelet holds once it has its client certificate."""

    ca_pem: str
    cert_pem: str
    key_pem: str


class JoinStandIn:
    """Every handed-over machine's Kubernetes, each in a thread; ``planes`` the control
    planes started, ``registered`` the Nodes made, ``errors`` by machine (what its
    journal would say), ``requestors`` the users that posted CSRs."""

    def __init__(self, directory: Path, silent: Collection[str] = ()) -> None:
        self.directory, self.silent = directory, frozenset(silent)
        directory.mkdir(parents=True, exist_ok=True)
        self.planes: list[ControlPlane] = []
        self.errors: dict[str, str] = {}
        self.registered: list[str] = []
        self.requestors: list[str] = []
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        os.environ["KUBEBUILDER_ASSETS"] = str(assets_dir())  # where strata.lab looks
        etcd_binary()  # skipped (failed under CI) without them, as kube_api does

    def hand_over(self, config: bytes) -> None:
        """A machine's config (its live one, the installed system's inside): its
        Kubernetes starts in a thread of its own."""
        thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        """Every machine's Kubernetes stopped (each control plane by its own thread)."""
        self.stopping.set()
        for thread in self._threads:
            thread.join(60)

    def _run(self, config: bytes) -> None:
        """One machine. A control plane it starts lives as long as this thread (its
        programs die with the thread that spawned them: ``die_with_parent``)."""
        held: list[ControlPlane] = []
        try:
            self._machine(config, held)
        finally:
            if held:
                self.stopping.wait()
            for plane in held:
                plane.stop()

    def _machine(self, config: bytes, held: list[ControlPlane]) -> None:
        files = read_files(config)
        text = files.text(KUBEADM_CONFIG)
        if text is None:
            return  # no Kubernetes on this machine
        kubeadm = parse_kubeadm(text)
        name = kubeadm.node_name
        if name in self.silent:
            return
        try:
            if kubeadm.init is not None:
                pki = ClusterPKI.from_files(
                    {n: d.decode() for n, d in files.under(PKI_DIR).items()}
                )
                credential = self._init(kubeadm, pki, held)
            else:
                credential = self._join(kubeadm)
            if not self.stopping.is_set():
                self._register(kubeadm, credential)
        except Exception as exc:  # the test reads these; a real machine's journal has them
            self.errors[name] = f"{type(exc).__name__}: {exc}"

    def _init(
        self, config: KubeadmConfig, pki: ClusterPKI, held: list[ControlPlane]
    ) -> NodeCredential:
        """``kubeadm init``, and the node's credential it writes (``kubelet.conf``)."""
        name = config.node_name
        plane = kubeadm_init(config, pki, self.directory / name, die_with_parent, name)
        held.append(plane)
        with self._lock:
            self.planes.append(plane)
        now = datetime.datetime.now(datetime.UTC)
        issued = issue_client_cert(
            pki.ca, f"system:node:{name}", ["system:nodes"], datetime.timedelta(days=1), now=now
        )
        return NodeCredential(pki.ca.cert_pem, issued.cert_pem, issued.key_pem)

    def _join(self, config: KubeadmConfig) -> NodeCredential:
        """``kubeadm join``'s discovery, then the kubelet's TLS bootstrap (a CSR with
        the signer and usages a 1.20 kubelet asks for; approved because the token's
        group may, signed by the controller manager with the cluster's CA)."""
        ca_pem, _ = discover(config, time.monotonic() + TIMEOUT, self.stopping.is_set)
        token = str(config.discovery()["token"])
        host, port = config.endpoint()
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{config.node_name}"),
            ]
        )
        request = (
            x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        )
        pem = request.public_bytes(serialization.Encoding.PEM)
        body = {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "csr-"},
            "spec": {
                "request": base64.b64encode(pem).decode(),
                "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                "usages": ["digital signature", "key encipherment", "client auth"],
            },
        }
        verify = ssl.create_default_context(cadata=ca_pem)
        headers = {"Authorization": f"Bearer {token}"}
        url = f"https://{host}:{port}"
        with httpx.Client(base_url=url, verify=verify, headers=headers, timeout=30) as client:
            created = client.post(CSRS, json=body)
            created.raise_for_status()
            name = created.json()["metadata"]["name"]
            with self._lock:
                self.requestors.append(created.json()["spec"]["username"])
            cert_pem = self._signed(client, name)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return NodeCredential(ca_pem, cert_pem, key_pem)

    def _signed(self, client: httpx.Client, name: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while not self.stopping.is_set() and time.monotonic() < deadline:
            status = client.get(f"{CSRS}/{name}").raise_for_status().json().get("status") or {}
            if status.get("certificate"):
                return base64.b64decode(status["certificate"]).decode()
            denied = [c for c in status.get("conditions") or [] if c["type"] != "Approved"]
            if denied:
                raise RuntimeError(f"CSR {name}: {denied}")
            time.sleep(0.5)
        raise TimeoutError(f"CSR {name} not signed")

    def _register(self, config: KubeadmConfig, credential: NodeCredential) -> None:
        """The Node as a kubelet registers it, then Ready, as itself."""
        name = config.node_name
        args = config.kubelet_args()
        labels = dict(item.split("=", 1) for item in args.get("node-labels", "").split(",") if item)
        labels["kubernetes.io/hostname"] = name
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {"providerID": args.get("provider-id", "")},
        }
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        status = {"status": {"conditions": [ready], "nodeInfo": {"bootID": f"boot-{name}"}}}
        host, port = config.endpoint()
        with _node_client(f"https://{host}:{port}", credential, self.directory) as client:
            client.post("/api/v1/nodes", json=node).raise_for_status()
            patch = {"Content-Type": "application/strategic-merge-patch+json"}
            client.patch(
                f"/api/v1/nodes/{name}/status", json=status, headers=patch
            ).raise_for_status()
        with self._lock:
            self.registered.append(name)


def _node_client(url: str, credential: NodeCredential, directory: Path) -> httpx.Client:
    """A client presenting the node's certificate (read from files only while the TLS
    context loads it: ``ssl`` takes no PEM in memory)."""
    context = ssl.create_default_context(cadata=credential.ca_pem)
    with tempfile.TemporaryDirectory(dir=directory) as held:
        cert, key = Path(held, "tls.crt"), Path(held, "tls.key")
        key.touch(0o600)
        key.write_text(credential.key_pem)
        cert.write_text(credential.cert_pem)
        context.load_cert_chain(cert, key)
    return httpx.Client(base_url=url, verify=context, timeout=30)
