"""The real API server and controller manager accept Strata's PKI: its CA-signed serving
certificate verifies against Strata's CA alone, Strata's admin client certificate is
``system:masters``, kubectl works with the kubeconfig ``strata.kube.kubeconfig`` builds,
and the controller manager signs CSRs with Strata's CA."""

from __future__ import annotations

import base64
import datetime
import os
import shutil
import ssl
import subprocess
import uuid

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from strata.kube.pki import generate_pki, issue_client_cert
from tests.support.kube_api import ControlPlane, wait_for

NOW = datetime.datetime.now(datetime.UTC)


def test_serving_certificate_verifies_against_strata_ca_only(plane: ControlPlane) -> None:
    with httpx.Client(base_url=plane.url, verify=plane.ssl_context()) as anonymous:
        assert anonymous.get("/version").json()["gitVersion"] == "v1.20.2"
    stranger = ssl.create_default_context(cadata=generate_pki(NOW).ca.cert_pem)
    with (
        httpx.Client(base_url=plane.url, verify=stranger) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get("/version")


def test_admin_certificate_authenticates_as_system_masters(plane: ControlPlane) -> None:
    with plane.client() as admin:
        names = {n["metadata"]["name"] for n in admin.get("/api/v1/namespaces").json()["items"]}
        review = admin.post(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            json={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": "*", "group": "*", "resource": "*"}},
            },
        )
    assert {"kube-system", "kube-public", "default"} <= names
    assert review.json()["status"]["allowed"] is True
    with httpx.Client(base_url=plane.url, verify=plane.ssl_context()) as anonymous:
        assert anonymous.get("/api/v1/namespaces").status_code == 403  # known, not allowed


def test_client_certificate_of_another_ca_is_not_authenticated(plane: ControlPlane) -> None:
    other = generate_pki(NOW)
    impostor = issue_client_cert(other.ca, "strata-admin", ["system:masters"], now=NOW)
    with plane.client(impostor) as client:
        assert client.get("/api/v1/namespaces").status_code == 401


def test_kubectl_with_strata_admin_kubeconfig(plane: ControlPlane) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        reason = "kubectl is missing: ./dev test installs it (apt-get install kubernetes-client)"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "--kubeconfig", str(plane.admin_kubeconfig()), "get", "namespaces", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "namespace/kube-system" in result.stdout.split()


def test_controller_manager_signs_csrs_with_strata_ca(plane: ControlPlane) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "csr-test")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    name = f"strata-test-{uuid.uuid4().hex[:8]}"
    path = f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}"
    request = base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()
    with plane.client() as admin:
        created = admin.post(
            "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            json={
                "apiVersion": "certificates.k8s.io/v1",
                "kind": "CertificateSigningRequest",
                "metadata": {"name": name},
                "spec": {
                    "request": request,
                    "signerName": "kubernetes.io/kube-apiserver-client",
                    "usages": ["client auth"],
                },
            },
        )
        assert created.status_code == 201, created.text
        approval = created.json()
        approval["status"] = {
            "conditions": [
                {"type": "Approved", "status": "True", "reason": "Test", "message": "test"}
            ]
        }
        assert admin.put(f"{path}/approval", json=approval).status_code == 200

        def issued() -> str | None:
            certificate: str | None = admin.get(path).json().get("status", {}).get("certificate")
            return certificate

        pem = base64.b64decode(wait_for(issued, 60, f"the controller manager to sign {name}"))
    cert = x509.load_pem_x509_certificate(pem)
    cert.verify_directly_issued_by(plane.pki.ca.certificate)
    assert cert.subject == subject
