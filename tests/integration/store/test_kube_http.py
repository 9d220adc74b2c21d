"""The Kubernetes store's HTTP client (``strata.store.kube_http``): connections kept and
reused against the real kube-apiserver (TLS, a client certificate), a kept connection
the server closed replaced, and a token file read again when the server answers 401 —
the last two against a small HTTP/1.1 server of the standard library's, which can be
told to close connections and to change the token it accepts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from strata.store.kube_api import KubeApi, client_from_kubeconfig
from tests.integration.store.conftest import NAMESPACE
from tests.support.kube_api import ControlPlane


def test_connections_are_kept_and_shared_by_threads(crd_applied: ControlPlane) -> None:
    client = client_from_kubeconfig(crd_applied.admin_kubeconfig())
    api = KubeApi(client)
    path = f"/api/v1/namespaces/{NAMESPACE}"

    def read(_: int) -> str:
        found = api.get(path)
        assert found is not None
        return str(found["metadata"]["name"])

    with client, ThreadPoolExecutor(4) as threads:
        assert set(threads.map(read, range(200))) == {NAMESPACE}
        assert api.get(f"{path}/configmaps/no-such-map") is None
    assert 1 <= client.connections_made <= 4, "one connection per thread at most"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    token = "first"
    close_after_answer = False
    seen: list[str | None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        given = self.headers.get("Authorization")
        server.seen.append(given)
        ok = given == f"Bearer {server.token}"
        body = b'{"kind":"Status","reason":"%s"}' % (b"ok" if ok else b"Unauthorized")
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = server.close_after_answer  # closed without saying so

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server(("127.0.0.1", 0), _Handler)
    running.seen = []
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def _kubeconfig(tmp_path: Path, server: _Server) -> Path:
    token = tmp_path / "token"
    token.write_text(server.token + "\n")
    config = tmp_path / "kubeconfig"
    config.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{server.server_address[1]}"}}}}]
users: [{{name: u, user: {{tokenFile: "{token}"}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""
    )
    return config


def test_a_kept_connection_the_server_closed_is_replaced(tmp_path: Path, server: _Server) -> None:
    with client_from_kubeconfig(_kubeconfig(tmp_path, server)) as client:
        assert client.request("GET", "/a").status_code == 200
        assert client.connections_made == 1
        assert client.request("GET", "/b").status_code == 200
        assert client.connections_made == 1, "kept alive"
        server.close_after_answer = True
        assert client.request("GET", "/c").status_code == 200
        assert client.request("GET", "/d").status_code == 200
        assert client.connections_made == 2, "the closed one replaced, no request failed"


def test_a_token_file_is_read_again_on_401(tmp_path: Path, server: _Server) -> None:
    config = _kubeconfig(tmp_path, server)
    with client_from_kubeconfig(config) as client:
        assert client.request("GET", "/a").status_code == 200
        server.token = "rotated"  # the kubelet rotated the service account's token
        (tmp_path / "token").write_text("rotated\n")
        assert client.request("GET", "/b").status_code == 200
        assert client.request("GET", "/c").status_code == 200
        server.token = "revoked"  # and one nobody has: the 401 is the answer
        assert client.request("GET", "/d").status_code == 401
    assert server.seen == [
        "Bearer first",
        "Bearer first",
        "Bearer rotated",
        "Bearer rotated",
        "Bearer rotated",
    ], "the same token is not sent again"
