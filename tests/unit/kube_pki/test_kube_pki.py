"""strata.kube.pki: CAs as kubeadm makes them, the discovery hash as kubeadm pins it
(checked against the openssl CLI, a second implementation), leaves openssl verifies."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strata.kube.pki import (
    ADMIN_CERT_LIFETIME,
    ClusterPKI,
    PKIError,
    discovery_hash,
    generate_pki,
    issue_client_cert,
    issue_serving_cert,
)

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def pki() -> ClusterPKI:
    return generate_pki(NOW)


def openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        pytest.skip("the openssl CLI is missing (apt-get install openssl)")
    return found


@pytest.mark.parametrize(
    ("attr", "common_name"),
    [("ca", "kubernetes"), ("front_proxy_ca", "front-proxy-ca"), ("etcd_ca", "etcd-ca")],
)
def test_cas_are_made_as_kubeadm_makes_them(pki: ClusterPKI, attr: str, common_name: str) -> None:
    cert = getattr(pki, attr).certificate
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == common_name
    cert.verify_directly_issued_by(cert)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_encipherment, usage.key_cert_sign) == (True,) * 3
    assert not (usage.crl_sign or usage.content_commitment or usage.key_agreement)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [common_name]
    assert cert.not_valid_after_utc - NOW == datetime.timedelta(days=3650)
    assert cert.not_valid_before_utc < NOW
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048


def test_the_three_cas_are_distinct(pki: ClusterPKI) -> None:
    hashes = {discovery_hash(p.cert_pem) for p in (pki.ca, pki.front_proxy_ca, pki.etcd_ca)}
    assert len(hashes) == 3


def test_discovery_hash_matches_openssl(pki: ClusterPKI, tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text(pki.ca.cert_pem)
    # kubeadm docs: openssl x509 -pubkey -in ca.crt | openssl rsa -pubin -outform der | sha256sum
    pem = subprocess.run(
        [openssl(), "x509", "-pubkey", "-noout", "-in", str(ca)], capture_output=True, check=True
    ).stdout
    der = subprocess.run(
        [openssl(), "pkey", "-pubin", "-outform", "der"], input=pem, capture_output=True, check=True
    ).stdout
    assert pki.discovery_hash == "sha256:" + hashlib.sha256(der).hexdigest()


def test_service_account_keys_are_a_pair(pki: ClusterPKI) -> None:
    private = serialization.load_pem_private_key(pki.service_account.private_pem.encode(), None)
    public = serialization.load_pem_public_key(pki.service_account.public_pem.encode())
    assert isinstance(private, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)
    assert private.public_key().public_numbers() == public.public_numbers()
    assert private.key_size == 2048


def test_json_round_trip_and_kubeadm_file_names(pki: ClusterPKI) -> None:
    assert ClusterPKI.from_json(pki.to_json()) == pki
    assert set(pki.files()) == {
        "ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key",
        "etcd/ca.crt", "etcd/ca.key", "sa.pub", "sa.key",
    }  # fmt: skip


def test_no_private_key_in_repr(pki: ClusterPKI) -> None:
    assert "PRIVATE KEY" not in repr(pki)
    assert "PRIVATE KEY" not in str(pki)


def test_a_key_that_is_not_its_certificates_is_refused_without_showing_it(pki: ClusterPKI) -> None:
    files = pki.files()
    files["ca.key"] = files["etcd/ca.key"]
    with pytest.raises(PKIError, match=r"ca\.key does not belong") as refused:
        ClusterPKI.from_json(json.dumps({"files": files}))
    assert "PRIVATE" not in str(refused.value) and refused.value.hint


@pytest.mark.parametrize(
    "text", ["", "[]", "{}", '{"files": []}', '{"files": {}}', '{"files": {"ca.crt": "x"}}']
)
def test_damaged_json_is_refused(text: str) -> None:
    with pytest.raises(PKIError):
        ClusterPKI.from_json(text)


def test_admin_client_certificate(pki: ClusterPKI, tmp_path: Path) -> None:
    admin = issue_client_cert(pki.ca, "strata-admin", ["system:masters"], now=NOW)
    cert = admin.certificate
    cert.verify_directly_issued_by(pki.ca.certificate)
    assert cert.subject.rfc4514_string() == "CN=strata-admin,O=system:masters"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (
        cert.not_valid_after_utc == NOW + ADMIN_CERT_LIFETIME == NOW + datetime.timedelta(hours=1)
    )
    _openssl_verify(pki, admin.cert_pem, "sslclient", tmp_path)


def test_serving_certificate_names_and_openssl_verifies_it(pki: ClusterPKI, tmp_path: Path) -> None:
    names = ["127.0.0.1", "api.mgmt.example", "10.0.0.1", "::1", "127.0.0.1"]
    serving = issue_serving_cert(pki.ca, names, datetime.timedelta(days=1), now=NOW)
    san = serving.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "10.0.0.1",
        "::1",
    ]
    assert san.get_values_for_type(x509.DNSName) == ["api.mgmt.example"]
    _openssl_verify(pki, serving.cert_pem, "sslserver", tmp_path)


def test_nonsense_lifetimes_and_names_are_refused(pki: ClusterPKI) -> None:
    with pytest.raises(PKIError, match="lifetime"):
        issue_client_cert(pki.ca, "x", (), datetime.timedelta(0), now=NOW)
    with pytest.raises(PKIError, match="at least one name"):
        issue_serving_cert(pki.ca, [], datetime.timedelta(hours=1), now=NOW)


def _openssl_verify(pki: ClusterPKI, cert_pem: str, purpose: str, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text(pki.ca.cert_pem)
    (tmp_path / "leaf.crt").write_text(cert_pem)
    when = str(int((NOW + datetime.timedelta(minutes=1)).timestamp()))
    args = [
        openssl(),
        "verify",
        "-attime",
        when,
        "-purpose",
        purpose,
        "-CAfile",
        str(tmp_path / "ca.crt"),
        str(tmp_path / "leaf.crt"),
    ]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
