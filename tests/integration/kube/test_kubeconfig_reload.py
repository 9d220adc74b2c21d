"""Clients built from a kubeconfig path follow the file (``strata.kube.kubeconfig_reload``),
against the real API server: a client whose certificate has expired keeps working once
the file is replaced by one minted from the same CA — found by the file's changed
stamp, or, for a kubeconfig naming certificate files replaced beside it (its own
stamp unchanged), by the API's 401 and one retry — in the store's HTTP client and in
lightkube's (the controller's), without a restart; a broken replacement is an error
naming the file and the fault, never its content, and a fixed one works again."""

from __future__ import annotations

import datetime
import os
import threading
import time
from pathlib import Path

import pytest
import yaml
from lightkube.resources.core_v1 import Namespace

from strata.kube.kubeconfig import admin_kubeconfig
from strata.kube.kubeconfig_load import KubeconfigRefused
from strata.kube.kubeconfig_reload import SETTLE, FollowingClient, FollowingHttp
from strata.kube.pki import CertAndKey, issue_client_cert
from strata.store.kube_api import KubeApi, KubeStoreError, client_from_kubeconfig
from tests.support.kube_api import ControlPlane, wait_for

SHORT = datetime.timedelta(seconds=15)  # long enough for the first requests, then expired
NAMESPACE = "/api/v1/namespaces/default"


def _mint(plane: ControlPlane, lifetime: datetime.timedelta) -> CertAndKey:
    now = datetime.datetime.now(datetime.UTC)
    return issue_client_cert(plane.pki.ca, "strata-admin", ("system:masters",), lifetime, now=now)


def _replace(path: Path, text: str) -> None:
    """Written beside and renamed over, 0600, as ``state_file.write_private`` does."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    fresh.chmod(0o600)
    os.replace(fresh, path)


def _inline(plane: ControlPlane, path: Path, credential: CertAndKey) -> Path:
    text = admin_kubeconfig(
        plane.url, plane.pki.ca.cert_pem, credential.cert_pem, credential.key_pem
    )
    _replace(path, text)
    return path


def _naming_files(plane: ControlPlane, directory: Path, credential: CertAndKey) -> Path:
    """A kubeconfig naming its certificate and key files (``client-certificate``,
    ``client-key``), as the kubelet's names its rotated ``kubelet-client-current.pem``."""
    _replace(directory / "client.crt", credential.cert_pem)
    _replace(directory / "client.key", credential.key_pem)
    ca = directory / "ca.crt"
    ca.write_text(plane.pki.ca.cert_pem)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": plane.url, "certificate-authority": str(ca)}}],
        "users": [{"name": "u", "user": {"client-certificate": str(directory / "client.crt"),
                                         "client-key": str(directory / "client.key")}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }  # fmt: skip
    path = directory / "files.kubeconfig"
    _replace(path, yaml.safe_dump(config))
    return path


def test_clients_go_on_with_the_replaced_kubeconfig_once_the_old_certificate_expired(
    plane: ControlPlane, tmp_path: Path
) -> None:
    old, new = _mint(plane, SHORT), _mint(plane, datetime.timedelta(hours=1))
    inline = _inline(plane, tmp_path / "inline.kubeconfig", old)
    files = _naming_files(plane, tmp_path, old)
    kept = _inline(plane, tmp_path / "kept.kubeconfig", old)  # never replaced: the witness
    store_http, file_http = FollowingHttp(inline), FollowingHttp(files)
    stores = {"inline": KubeApi(store_http), "files": KubeApi(file_http)}
    lightkube = FollowingClient(inline, "default")
    for api in stores.values():
        assert api.get(NAMESPACE) is not None  # the old certificate, still valid
    assert lightkube.get(Namespace, "default").metadata is not None
    _inline(plane, inline, new)  # a re-mint: another inode, the same CA
    _replace(tmp_path / "client.crt", new.cert_pem)  # files.kubeconfig itself unchanged
    _replace(tmp_path / "client.key", new.key_pem)
    for api in stores.values():  # the old certificate still valid: only a changed stamp
        assert api.get(NAMESPACE) is not None
    assert (store_http.reloads, file_http.reloads) == (1, 0)
    witness = KubeApi(client_from_kubeconfig(kept))

    def refused() -> bool | None:
        try:
            witness.get(NAMESPACE)
        except KubeStoreError as failure:
            return failure.status == 401 or None
        return None

    wait_for(refused, 60, "the old certificate refused (401): expired")
    for name, api in stores.items():
        assert api.get(NAMESPACE) is not None, name
    assert lightkube.get(Namespace, "default").metadata is not None
    assert (store_http.reloads, file_http.reloads) == (1, 1)  # by its stamp; by the 401
    witness.client.close()


def test_a_broken_replacement_is_a_located_error_without_its_content(
    plane: ControlPlane, tmp_path: Path
) -> None:
    path = _inline(plane, tmp_path / "layer.kubeconfig", _mint(plane, datetime.timedelta(hours=1)))
    api, lightkube = KubeApi(FollowingHttp(path)), FollowingClient(path, "default")
    assert api.get(NAMESPACE) is not None
    secret = "s3cret-token-value"
    _replace(path, f"users:\n- name: u\n  user:\n    token: {secret}\n  : [\n")
    with pytest.raises(KubeStoreError) as failure:
        api.get(NAMESPACE)
    text = str(failure.value)
    assert str(path) in text and "not YAML at line" in text, text
    assert secret not in text
    with pytest.raises(KubeconfigRefused) as refused:  # the controller's loop says it
        lightkube.get(Namespace, "default")
    assert str(path) in str(refused.value) and secret not in str(refused.value)
    with pytest.raises(KubeStoreError):  # still broken: refused again, not the old one used
        api.get(NAMESPACE)
    _inline(plane, path, _mint(plane, datetime.timedelta(hours=1)))  # fixed
    assert api.get(NAMESPACE) is not None
    assert lightkube.get(Namespace, "default").metadata is not None


def _written_slowly(path: Path, text: str, pieces: int = 8) -> threading.Thread:
    """``path`` rewritten in place as ``kubectl config`` or an editor does (truncated,
    then written), ``text`` in ``pieces`` with a pause between each, longer than
    ``SETTLE`` in all: a thread, started once the first piece is there."""
    size = -(-len(text) // pieces)
    out = path.open("w")  # truncated: the same inode
    out.write(text[:size])
    out.flush()

    def rest() -> None:
        for at in range(size, len(text), size):
            time.sleep(SETTLE / (pieces - 2))
            out.write(text[at : at + size])
            out.flush()
        out.close()

    thread = threading.Thread(target=rest)
    thread.start()
    return thread


def test_a_kubeconfig_rewritten_in_place_is_read_once_it_is_whole(
    plane: ControlPlane, tmp_path: Path
) -> None:
    """A request made while its kubeconfig is half written goes on once the file is
    whole, its writer slower than ``SETTLE`` in all (each piece starts the wait again);
    before, the half file was an error, and `strata pivot` rolled a move back on it."""
    path = _inline(plane, tmp_path / "layer.kubeconfig", _mint(plane, datetime.timedelta(hours=1)))
    http = FollowingHttp(path)
    api, lightkube = KubeApi(http), FollowingClient(path, "default")
    assert api.get(NAMESPACE) is not None
    for turn in range(2):
        credential = _mint(plane, datetime.timedelta(hours=1))
        text = admin_kubeconfig(
            plane.url, plane.pki.ca.cert_pem, credential.cert_pem, credential.key_pem
        )
        writer = _written_slowly(path, text)
        if turn == 0:
            assert api.get(NAMESPACE) is not None
        else:
            assert lightkube.get(Namespace, "default").metadata is not None
        writer.join()
        assert path.read_text() == text
    assert api.get(NAMESPACE) is not None
    assert http.reloads == 2  # each whole file once; never a half one
