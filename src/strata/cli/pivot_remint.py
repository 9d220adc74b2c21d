"""The layer's kubeconfig a move's journal names, minted again when it has run out.

`strata pivot --to LAYER` writes ``<state's dir>/<LAYER>.kubeconfig`` (an admin client
certificate valid ``pivot_layer.LIFETIME``, 30 days) and the journal names it, so
``--back`` and ``--abort`` reach the cluster with it later. When they read it from the
journal, it is Strata's own (its first user's ``client-certificate-data`` is a
certificate for ``strata-admin`` signed by the layer's CA the state file keeps,
``strata.kube.material_store``) and that certificate has expired or expires within
``RENEW_WITHIN`` (a day), it is minted again from that CA for the same server (the URL
the journal names), at the same path, 0600 (``store.state_file.write_private``), and
said. Anything else — the person's own kubeconfig at that path (a token, certificate
files, an exec/OIDC plugin, another CA's certificate), another directory or name, no
PKI kept for that layer, no state file among the move's ends — is used as it is. A
dry run writes nothing (it says it would mint again); a run then refused puts the
previous bytes back (``put_back``); a dry run mints into a
temporary directory and reaches the cluster with that.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from strata.cli.pivot_layer import LIFETIME
from strata.kube.material_store import ADMIN_USER, layer_admin_kubeconfig, stored_material
from strata.pivot.ends import End
from strata.store import SQLiteStore
from strata.store.state_file import write_private

__all__ = ["RENEW_WITHIN", "expires", "put_back", "refresh_layer_kubeconfigs"]

RENEW_WITHIN = datetime.timedelta(days=1)


def _client_cert(kubeconfig: Path) -> x509.Certificate | None:
    try:
        config = yaml.safe_load(kubeconfig.read_text())
        data = config["users"][0]["user"]["client-certificate-data"]
        return x509.load_pem_x509_certificate(base64.b64decode(data))
    except (OSError, ValueError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return None


def expires(kubeconfig: Path) -> datetime.datetime | None:
    """When the client certificate of the kubeconfig's first user expires (UTC, X.509
    notAfter); None when the file cannot be read or holds no certificate data."""
    cert = _client_cert(kubeconfig)
    return None if cert is None else cert.not_valid_after_utc


def minted_by(kubeconfig: Path, ca_pem: str) -> x509.Certificate | None:
    """The kubeconfig's client certificate when Strata minted it: CN ``strata-admin``,
    directly issued by the CA ``ca_pem`` (RFC 5280 issuer name and signature); else
    None (no certificate data, another CA, another user)."""
    cert = _client_cert(kubeconfig)
    if cert is None:
        return None
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names or names[0].value != ADMIN_USER:
        return None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return None
    return cert


def refresh_layer_kubeconfigs(
    ends: tuple[End, End],
    say: Callable[[str], None],
    now: datetime.datetime | None = None,
    scratch: Path | None = None,
) -> tuple[tuple[End, End], dict[Path, bytes | None]]:
    """Mints again each layer kubeconfig among ``ends`` (a move's source and target)
    that Strata minted and that has expired or expires within ``RENEW_WITHIN`` (or is
    missing); the ends to use and ``{path written: its previous bytes (None: there was
    none)}``. With ``scratch`` (a dry run's temporary directory) the layer's path is
    not written: the new kubeconfig goes into ``scratch`` and the end returned names it."""
    now = now or datetime.datetime.now(datetime.UTC)
    state = next((Path(e.path) for e in ends if e.kind == "sqlite"), None)
    if state is None or not state.exists():
        return ends, {}
    written: dict[Path, bytes | None] = {}
    use = list(ends)
    for i, end in enumerate(ends):
        path = Path(end.kubeconfig) if end.kind == "kube" else None
        if path is None or path.parent != state.parent or path.suffix != ".kubeconfig":
            continue
        store = SQLiteStore(state)
        try:
            material = stored_material(store, path.stem)
        finally:
            store.close()
        why = None if material is None else _why(path, material.pki.ca.cert_pem, now)
        if material is None or why is None:
            continue
        text = layer_admin_kubeconfig(material, end.server, now, LIFETIME)
        what = f"layer {path.stem}'s kubeconfig {path}: {why}"
        if scratch is not None:
            write_private(scratch / path.name, text)
            use[i] = replace(end, kubeconfig=str(scratch / path.name))
            say(f"{what}: would be minted again from the layer's CA (dry run: not written)")
            continue
        written[path] = path.read_bytes() if path.exists() else None
        write_private(path, text)
        say(f"{what}: minted again from the layer's CA (0600; valid {LIFETIME.days} days)")
    return (use[0], use[1]), written


def _why(path: Path, ca_pem: str, now: datetime.datetime) -> str | None:
    """Why ``path`` is minted again ("missing", "its certificate expired ..."), or None
    when it is used as it is (not Strata's, or valid beyond ``RENEW_WITHIN``)."""
    if not path.exists():
        return "missing"
    cert = minted_by(path, ca_pem)
    if cert is None:
        return None  # the person's own kubeconfig, or not one Strata minted: left alone
    until = cert.not_valid_after_utc
    if until - now > RENEW_WITHIN:
        return None
    why = "expired" if until <= now else "expires"
    return f"its certificate {why} {until:%Y-%m-%d %H:%M} UTC"


def put_back(written: dict[Path, bytes | None]) -> None:
    """Each kubeconfig ``refresh_layer_kubeconfigs`` wrote back as it was (a run then
    refused writes nothing): its previous bytes, 0600, or removed when it was missing."""
    for path, before in written.items():
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_private(path, before.decode())
