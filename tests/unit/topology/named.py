"""Shared: a small valid topology written into a directory, naming whatever a test needs."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TEMPLATE = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {{name: lab}}
defaults:
  os: {{name: flatcar, channel: stable, version: "4081.2.0"}}
  bmc: {{credentials: lab-bmc{ca_bundle}}}
{ignition}credentials:
  - name: lab-bmc
    username: admin
    password: {password}
networks:
  - {{name: bmc, purpose: bmc, cidr: 192.168.100.0/24}}
  - {{name: provisioning, purpose: provisioning, cidr: 192.168.110.0/24}}
layers:
  - name: mgmt
    distribution: {{name: kubeadm, version: "1.31.2"}}
    endpoint: {{vip: 192.168.110.10}}
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
regions:
  - name: home
    zones:
      - name: desk
        racks:
          - name: lab
            nodes:
              - name: lab-cp-0
                layer: mgmt
                role: control-plane
                bmc: {{address: redfish://192.168.100.11/redfish/v1/Systems/1}}
                nics: [{{mac: "52:54:00:10:00:01", network: provisioning, ip: 192.168.110.11}}]
"""


def write_topology(
    directory: Path,
    *,
    password_file: str | None = None,
    fragment_file: str | None = None,
    inline_fragment: str | None = None,
    ca_bundle: str | None = None,
) -> Path:
    """``directory/topology.yaml``; each named file is written as a JSON string (quoted)."""
    directory.mkdir(parents=True, exist_ok=True)
    password = (
        "{env: STRATA_TEST_PW}" if password_file is None else f"{{file: {_q(password_file)}}}"
    )
    ignition = ""
    if fragment_file is not None:
        ignition = f"  ignition: [{{name: extra, file: {_q(fragment_file)}}}]\n"
    elif inline_fragment is not None:
        ignition = f"  ignition:\n    - name: extra\n      inline:\n{inline_fragment}"
    text = TEMPLATE.format(
        password=password,
        ignition=ignition,
        ca_bundle="" if ca_bundle is None else f", caBundle: {_q(ca_bundle)}",
    )
    path = directory / "topology.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column where ``needle`` first stands in ``path``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def certificate_pem() -> bytes:
    """A self-signed CA certificate, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bmc-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def laughs(levels: int = 9) -> str:
    """A "billion laughs": nine aliases of nine aliases of …, a few hundred bytes."""
    text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n"
    return text
