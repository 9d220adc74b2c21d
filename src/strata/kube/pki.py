"""A layer's cluster PKI: the three CAs and the service-account key pair, made once.

Strata owns the CAs, not the first control-plane node, so that it knows the discovery
hash every joining node pins and can mint its own admin credential; ``kubeadm init``
finds them in ``/etc/kubernetes/pki`` and makes the rest (API server, kubelet-client,
etcd peer and server certificates) from them, as for an external CA
(kubeadm docs: "Certificate Management with kubeadm", "PKI certificates and
requirements", https://kubernetes.io/docs/setup/best-practices/certificates/).

The certificates are made as kubeadm makes them:

- CAs (``certutil.NewSelfSignedCACert``, staging/src/k8s.io/client-go/util/cert/cert.go,
  via ``pkiutil.NewCertificateAuthority``, cmd/kubeadm/app/util/pkiutil/pki_helpers.go):
  CN ``kubernetes`` / ``front-proxy-ca`` / ``etcd-ca``, the CN again as a DNS name, key
  usages digitalSignature + keyEncipherment + keyCertSign, basicConstraints CA:TRUE
  (critical), valid ten years of 365 days, backdated five minutes
  (``kubeadmconstants.CertificateBackdate``).
- Leaves (``pkiutil.NewSignedCert``): digitalSignature + keyEncipherment, one extended
  key usage (clientAuth or serverAuth), not a CA.
- Keys: RSA 2048 (``pkiutil.GeneratePrivateKey``'s default), PKCS#8 PEM; the
  service-account pair is ``sa.key`` / ``sa.pub`` (kubeadm's ``certs/certs.go``).

Pure: the caller passes ``now``; randomness comes from the OS through ``cryptography``.
Private keys never appear in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strata.errors import StrataError

__all__ = [
    "ADMIN_CERT_LIFETIME",
    "CA_LIFETIME",
    "CertAndKey",
    "ClusterPKI",
    "PKIError",
    "ServiceAccountKeys",
    "discovery_hash",
    "generate_pki",
    "issue_client_cert",
    "issue_serving_cert",
    "spki_pin",
]

CA_LIFETIME = datetime.timedelta(days=365 * 10)  # client-go cert.go: duration365d * 10
BACKDATE = datetime.timedelta(minutes=5)  # kubeadm constants: CertificateBackdate
# Strata's own admin credential (`strata kubeconfig`, the cluster watcher): an hour, so a
# printed kubeconfig that leaks stops working soon; a new one costs a signature.
ADMIN_CERT_LIFETIME = datetime.timedelta(hours=1)
RSA_BITS = 2048  # pkiutil.rsaKeySize

# kubeadm's file names under /etc/kubernetes/pki (cmd/kubeadm/app/constants/constants.go)
_FILES = {
    "ca": ("ca.crt", "ca.key"),
    "front_proxy_ca": ("front-proxy-ca.crt", "front-proxy-ca.key"),
    "etcd_ca": ("etcd/ca.crt", "etcd/ca.key"),
}
_SA_FILES = ("sa.pub", "sa.key")
_COMMON_NAMES = {"ca": "kubernetes", "front_proxy_ca": "front-proxy-ca", "etcd_ca": "etcd-ca"}


class PKIError(StrataError):
    """Stored PKI that cannot be read back, or a certificate that cannot be issued."""

    kind = "kube-pki"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class CertAndKey:
    """A certificate and its private key, both PEM; the key never shows in ``repr``."""

    cert_pem: str
    key_pem: str = field(repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise PKIError("a stored private key is not RSA", hint="regenerate the layer's PKI")
        return key


@dataclass(frozen=True)
class ServiceAccountKeys:
    """The key pair that signs service-account tokens (``sa.key``, ``sa.pub``)."""

    public_pem: str
    private_pem: str = field(repr=False)


@dataclass(frozen=True)
class ClusterPKI:
    """What Strata keeps per layer: the cluster, front-proxy and etcd CAs and the
    service-account keys. ``files`` names them as kubeadm does under /etc/kubernetes/pki."""

    ca: CertAndKey
    front_proxy_ca: CertAndKey
    etcd_ca: CertAndKey
    service_account: ServiceAccountKeys

    @property
    def discovery_hash(self) -> str:
        return discovery_hash(self.ca.cert_pem)

    def files(self) -> dict[str, str]:
        """PEM text by path relative to /etc/kubernetes/pki."""
        out: dict[str, str] = {}
        for attr, (cert_name, key_name) in _FILES.items():
            pair: CertAndKey = getattr(self, attr)
            out[cert_name], out[key_name] = pair.cert_pem, pair.key_pem
        out[_SA_FILES[0]] = self.service_account.public_pem
        out[_SA_FILES[1]] = self.service_account.private_pem
        return out

    def to_json(self) -> str:
        return json.dumps({"format": 1, "files": self.files()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClusterPKI:
        """Reads back ``to_json``'s text, checking every key matches its certificate."""
        try:
            files = json.loads(text)["files"]
        except (ValueError, KeyError, TypeError):
            files = None
        if not isinstance(files, dict):
            raise PKIError("the stored cluster PKI is not the JSON Strata writes", _STORE_HINT)
        return cls.from_files(files)

    @classmethod
    def from_files(cls, files: Mapping[str, str]) -> ClusterPKI:
        pairs = {attr: _pair(files, *names) for attr, names in _FILES.items()}
        sa = ServiceAccountKeys(_text(files, _SA_FILES[0]), _text(files, _SA_FILES[1]))
        _check_matches(sa.private_pem, sa.public_pem, _SA_FILES[1])
        return cls(service_account=sa, **pairs)


_STORE_HINT = "the layer's PKI was damaged in the store: restore it from a backup"


def generate_pki(now: datetime.datetime) -> ClusterPKI:
    """A new layer's PKI (four RSA 2048 keys: well under a second here)."""
    cas = {attr: _self_signed_ca(cn, now) for attr, cn in _COMMON_NAMES.items()}
    sa_key = _new_key()
    sa = ServiceAccountKeys(_public_pem(sa_key.public_key()), _private_pem(sa_key))
    return ClusterPKI(service_account=sa, **cas)


def discovery_hash(ca_pem: str) -> str:
    """``sha256:<hex>`` of the CA's DER SubjectPublicKeyInfo: what ``kubeadm join
    --discovery-token-ca-cert-hash`` pins (cmd/kubeadm/app/util/pubkeypin/pubkeypin.go,
    ``Hash``, in the style of RFC 7469's SPKI pins)."""
    try:
        cert = x509.load_pem_x509_certificate(ca_pem.encode())
    except ValueError:
        raise PKIError("the CA is not a PEM certificate", hint=_STORE_HINT) from None
    return spki_pin(cert)


def spki_pin(cert: x509.Certificate) -> str:
    """``sha256:<hex>`` of one certificate's SubjectPublicKeyInfo, the bytes as the
    certificate holds them (Go's ``RawSubjectPublicKeyInfo``), not a re-encoding."""
    return "sha256:" + hashlib.sha256(_raw_spki(cert.tbs_certificate_bytes)).hexdigest()


def _raw_spki(tbs: bytes) -> bytes:
    """The seventh field of TBSCertificate (RFC 5280, 4.1), counting the optional
    ``[0] version`` as the first: walked in DER, a tag byte then a length."""
    pos, _ = _header(tbs, 0)  # into the TBSCertificate SEQUENCE
    if tbs[pos] == 0xA0:  # [0] EXPLICIT version
        pos = _skip(tbs, pos)
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        pos = _skip(tbs, pos)
    return tbs[pos : _skip(tbs, pos)]


def _header(der: bytes, pos: int) -> tuple[int, int]:
    """(start of the element's contents, their length) for the element at ``pos``."""
    first = der[pos + 1]
    if first < 0x80:
        return pos + 2, first
    count = first & 0x7F
    return pos + 2 + count, int.from_bytes(der[pos + 2 : pos + 2 + count], "big")


def _skip(der: bytes, pos: int) -> int:
    start, length = _header(der, pos)
    return start + length


def issue_client_cert(
    ca: CertAndKey,
    common_name: str,
    organizations: Sequence[str] = (),
    lifetime: datetime.timedelta = ADMIN_CERT_LIFETIME,
    *,
    now: datetime.datetime,
) -> CertAndKey:
    """A client certificate signed by ``ca``: Kubernetes reads the user from the CN and
    the groups from O (Strata's admin: CN ``strata-admin``, O ``system:masters``)."""
    subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    subject.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return _leaf(ca, x509.Name(subject), None, ExtendedKeyUsageOID.CLIENT_AUTH, lifetime, now)


def issue_serving_cert(
    ca: CertAndKey,
    names: Sequence[str],
    lifetime: datetime.timedelta,
    *,
    now: datetime.datetime,
    common_name: str | None = None,
) -> CertAndKey:
    """A TLS serving certificate signed by ``ca`` for ``names``: each an IP address or a
    DNS name (the subjectAltNames clients check; the CN defaults to the first name)."""
    if not names:
        raise PKIError("a serving certificate needs at least one name or address")
    alt = x509.SubjectAlternativeName([_general_name(n) for n in dict.fromkeys(names)])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or names[0])])
    return _leaf(ca, subject, alt, ExtendedKeyUsageOID.SERVER_AUTH, lifetime, now)


def _self_signed_ca(common_name: str, now: datetime.datetime) -> CertAndKey:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = now - BACKDATE
    cert = (
        _base(name, name, key.public_key(), start, now + CA_LIFETIME)
        .add_extension(x509.KeyUsage(**_usages(cert_sign=True)), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), False)
        .sign(key, hashes.SHA256())
    )
    return CertAndKey(_cert_pem(cert), _private_pem(key))


def _leaf(
    ca: CertAndKey,
    subject: x509.Name,
    alt: x509.SubjectAlternativeName | None,
    usage: x509.ObjectIdentifier,
    lifetime: datetime.timedelta,
    now: datetime.datetime,
) -> CertAndKey:
    if lifetime <= datetime.timedelta(0):
        raise PKIError(f"a certificate's lifetime must be positive, not {lifetime}")
    ca_cert, ca_key = ca.certificate, ca.private_key()
    key = _new_key()
    start = now - BACKDATE
    builder = (
        _base(subject, ca_cert.subject, key.public_key(), start, now + lifetime)
        .add_extension(x509.KeyUsage(**_usages(cert_sign=False)), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if alt is not None:
        builder = builder.add_extension(alt, critical=False)
    return CertAndKey(_cert_pem(builder.sign(ca_key, hashes.SHA256())), _private_pem(key))


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _usages(*, cert_sign: bool) -> dict[str, bool]:
    return {
        "digital_signature": True,
        "key_encipherment": True,
        "key_cert_sign": cert_sign,
        "content_commitment": False,
        "data_encipherment": False,
        "key_agreement": False,
        "crl_sign": False,
        "encipher_only": False,
        "decipher_only": False,
    }


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _text(files: Mapping[str, str], name: str) -> str:
    value = files.get(name)
    if not isinstance(value, str) or not value:
        raise PKIError(f"the stored cluster PKI has no {name}", hint=_STORE_HINT)
    return value


def _pair(files: Mapping[str, str], cert_name: str, key_name: str) -> CertAndKey:
    pair = CertAndKey(_text(files, cert_name), _text(files, key_name))
    try:
        public = pair.certificate.public_key()
    except ValueError:
        raise PKIError(f"the stored {cert_name} is not a PEM certificate", _STORE_HINT) from None
    _check_matches(pair.key_pem, _public_pem_any(public), key_name)
    return pair


def _public_pem_any(public: object) -> str:
    if not isinstance(public, rsa.RSAPublicKey):
        raise PKIError("a stored CA's key is not RSA", hint=_STORE_HINT)
    return _public_pem(public)


def _check_matches(private_pem: str, public_pem: str, name: str) -> None:
    """The private key in ``name`` belongs to ``public_pem`` (the message names the file,
    never its content)."""
    try:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise PKIError(f"the stored {name} is not a PEM private key", _STORE_HINT) from None
    if not isinstance(key, rsa.RSAPrivateKey) or _public_pem(key.public_key()) != public_pem:
        raise PKIError(f"the stored {name} does not belong to its public key", _STORE_HINT)
