"""The layer's kubeconfig a move's journal names, minted again when it has run out.

`strata pivot --to LAYER` writes ``<state's dir>/<LAYER>.kubeconfig`` (an admin client
certificate valid ``pivot_layer.LIFETIME``, 30 days) and the journal names it, so
``--back`` and ``--abort`` reach the cluster with it later. When they read it from the
journal and its certificate has expired or expires within ``RENEW_WITHIN`` (a day),
it is minted again from the layer's CA the state file keeps (``strata.kube.
material_store``), for the same server (the URL the journal names), at the same path,
0600 (``store.state_file.write_private``), and said. A kubeconfig that is not a
layer's (another directory or name, no PKI kept for that layer, no state file among
the move's ends) is left as it is.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from pathlib import Path

import yaml
from cryptography import x509

from strata.cli.pivot_layer import LIFETIME
from strata.kube.material_store import layer_admin_kubeconfig, stored_material
from strata.pivot.ends import End
from strata.store import SQLiteStore
from strata.store.state_file import write_private

__all__ = ["RENEW_WITHIN", "expires", "refresh_layer_kubeconfigs"]

RENEW_WITHIN = datetime.timedelta(days=1)


def expires(kubeconfig: Path) -> datetime.datetime | None:
    """When the client certificate of the kubeconfig's first user expires (UTC, X.509
    notAfter); None when the file cannot be read or holds no certificate data."""
    try:
        config = yaml.safe_load(kubeconfig.read_text())
        data = config["users"][0]["user"]["client-certificate-data"]
        cert = x509.load_pem_x509_certificate(base64.b64decode(data))
    except (OSError, ValueError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return None
    return cert.not_valid_after_utc


def refresh_layer_kubeconfigs(
    ends: tuple[End, End], say: Callable[[str], None], now: datetime.datetime | None = None
) -> list[Path]:
    """Mints again each layer kubeconfig among ``ends`` (a move's source and target)
    that has expired or expires within ``RENEW_WITHIN``; the paths written."""
    now = now or datetime.datetime.now(datetime.UTC)
    state = next((Path(e.path) for e in ends if e.kind == "sqlite"), None)
    if state is None or not state.exists():
        return []
    written = []
    for end in ends:
        path = Path(end.kubeconfig) if end.kind == "kube" else None
        if path is None or path.parent != state.parent or path.suffix != ".kubeconfig":
            continue
        until = expires(path)
        if until is not None and until - now > RENEW_WITHIN:
            continue
        store = SQLiteStore(state)
        try:
            material = stored_material(store, path.stem)
        finally:
            store.close()
        if material is None:
            continue
        write_private(path, layer_admin_kubeconfig(material, end.server, now, LIFETIME))
        why = "unreadable" if until is None else ("expired" if until <= now else "expires")
        when = "" if until is None else f" {until:%Y-%m-%d %H:%M} UTC"
        say(
            f"layer {path.stem}'s kubeconfig {path}: its certificate {why}{when}: minted "
            f"again from the layer's CA (0600; valid {LIFETIME.days} days)"
        )
        written.append(path)
    return written
