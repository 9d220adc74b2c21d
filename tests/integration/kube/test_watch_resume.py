"""A layer's watch over the wire when the API ends it: a watch the API ends is resumed
from the last resourceVersion seen (no list, nothing said twice), and one whose version
is gone (an ERROR event with a 410 Status) starts again with a list — without saying the
API unreachable. The API here is a small HTTPS server that answers as kube-apiserver
does (HTTP/1.1, the watch's body in chunked transfer coding, a client certificate
required); the real kube-apiserver's watch is followed in test_node_watch.py."""

from __future__ import annotations

import datetime
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from strata.kube import pki
from strata.kube.watch import AdminCredential, LayerWatch, NodeWatcher
from strata.provisioning import LogKind
from tests.support.kube_api import wait_for

PROVIDER = "strata://t/cp-0"


def node(ready: bool, version: int) -> dict[str, Any]:
    condition = {"type": "Ready", "status": "True" if ready else "False", "reason": "R"}
    return {
        "kind": "Node",
        "metadata": {"name": "cp-0", "resourceVersion": str(version)},
        "spec": {"providerID": PROVIDER},
        "status": {"conditions": [condition]},
    }


GONE = {"kind": "Status", "status": "Failure", "reason": "Expired", "code": 410}
# what each watch request streams, in order: ended by the API, then gone, then held open
SCRIPT: list[list[dict[str, Any]]] = [
    [{"type": "ADDED", "object": node(False, 6)}],
    [{"type": "MODIFIED", "object": node(True, 7)}, {"type": "ERROR", "object": GONE}],
]


class API:
    def __init__(self, ca: pki.CertAndKey) -> None:
        self.lists = 0
        self.watched: list[str] = []  # the resourceVersion of each watch request
        self.closing = threading.Event()
        now = datetime.datetime.now(datetime.UTC)
        serving = pki.issue_serving_cert(ca, ["127.0.0.1"], datetime.timedelta(hours=1), now=now)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "c").write_text(serving.cert_pem)
            Path(directory, "k").write_text(serving.key_pem)
            self.tls.load_cert_chain(Path(directory, "c"), Path(directory, "k"))
        self.tls.load_verify_locations(cadata=ca.cert_pem)
        self.tls.verify_mode = ssl.CERT_REQUIRED
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"


def _handler(api: API) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if query.get("watch") != ["true"]:
                api.lists += 1
                body = json.dumps(
                    {"kind": "NodeList", "metadata": {"resourceVersion": "5"}, "items": []}
                )
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())
                return
            api.watched.append(query["resourceVersion"][0])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            turn = len(api.watched) - 1
            for event in SCRIPT[turn] if turn < len(SCRIPT) else []:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            if turn >= len(SCRIPT):
                api.closing.wait(30)  # held open, as a watch with nothing to say
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True

    return Handler


@pytest.fixture
def api_and_credential() -> Iterator[tuple[API, AdminCredential]]:
    now = datetime.datetime.now(datetime.UTC)
    cluster = pki.generate_pki(now)
    admin = pki.issue_client_cert(
        cluster.ca, "strata", ["system:masters"], datetime.timedelta(hours=1), now=now
    )
    api = API(cluster.ca)
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, AdminCredential(cluster.ca.cert_pem, admin.cert_pem, admin.key_pem)
    finally:
        api.closing.set()
        api.server.shutdown()
        api.server.server_close()


def test_a_watch_ended_is_resumed_and_a_gone_version_lists_again(
    api_and_credential: tuple[API, AdminCredential],
) -> None:
    api, credential = api_and_credential
    said: list[tuple[str, str]] = []

    def write(entries: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
        said.extend((n, kind) for n, kind, _ in entries)

    layer = LayerWatch("mgmt", api.url, lambda: credential, "cp-0", {"cp-0": PROVIDER})
    watcher = NodeWatcher([layer], write, retry_seconds=0.1, batch_seconds=0.05)
    watcher.start()
    try:
        wait_for(lambda: len(api.watched) == 3 or None, 30, "the third watch")
    finally:
        watcher.stop()
    assert api.watched == ["5", "6", "5"], "resumed from the event's version; then listed again"
    assert api.lists == 2
    assert watcher.requests == 5
    assert said == [
        ("cp-0", LogKind.API_ANSWERED),
        ("cp-0", LogKind.NODE_REGISTERED),
        ("cp-0", LogKind.NODE_READY),
    ], "the 410 is not an unreachable API, and nothing is said twice"
