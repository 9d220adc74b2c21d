"""A simulated Kubernetes API for one layer, on the wire, and the layer's kubelets:
what ``strata.kube.watch.NodeWatcher`` follows when no cluster can run (the 10,009
nodes of bench/lifecycle_scale.py).

``NodeAPI`` is an HTTPS server on 127.0.0.1 speaking just enough of the API for
lightkube's list-then-watch of Nodes: ``GET /api/v1/nodes`` (the Nodes now, with the
list's resourceVersion) and ``GET /api/v1/nodes?watch=true&resourceVersion=N``
(every change after N as JSON lines of ADDED / MODIFIED events, then the stream stays
open for the next). Any ``POST`` is answered as a create (201 with the object, 409 for a
name already made at that path): what a watch does when the API answers, e.g. making a
bootstrap token's Secret. Its serving certificate is signed by the layer's CA; it asks
for a client certificate signed by the same CA, as kube-apiserver's ``--client-ca-file``
does. Every request is counted (``requests``), and the CPU its handler threads spent
(``cpu_seconds``).

Its port is bound at once (``url`` is known before anything runs) but it listens only
from ``answer()`` on: before that a connection is refused, as at a VIP nobody holds yet.

``Kubelets`` is the layer's machines after their install: told a node was installed
(``Fleet(on_installed=...)``), its Node registers NotReady half-way through the join
delay and turns Ready at its end; the init node's ``kubeadm init`` brings the API up
first (``answer()``); any other node waits for that API (tried again a little later).
"""

from __future__ import annotations

import bisect
import contextlib
import datetime
import json
import random
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from strata.kube.pki import CertAndKey, issue_serving_cert
from strata.lab.simulated import Timeline

__all__ = ["Kubelets", "NodeAPI"]

NOT_READY = ("KubeletNotReady", "container runtime network not ready")


class NodeAPI:
    """One layer's API: its Nodes, their changes since the start, and a watch stream
    for each connected watcher."""

    def __init__(self, layer: str, ca: CertAndKey) -> None:
        self.layer = layer
        self.requests = 0  # every request received, whatever it was
        self.cpu_seconds = 0.0  # spent in handler threads (TLS, JSON, streaming)
        self._nodes: dict[str, dict[str, Any]] = {}
        self._changes: list[tuple[int, bytes]] = []  # (resourceVersion, watch event line)
        self._created: set[str] = set()  # paths/names POSTed
        self._version = 1
        self._cond = threading.Condition()
        self._closed = False
        now = datetime.datetime.now(datetime.UTC)
        serving = issue_serving_cert(ca, ["127.0.0.1"], datetime.timedelta(days=1), now=now)
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory(prefix="node-api-") as directory:
            cert, key = Path(directory, "tls.crt"), Path(directory, "tls.key")
            cert.write_text(serving.cert_pem)
            key.write_text(serving.key_pem)
            self._tls.load_cert_chain(cert, key)
        self._tls.load_verify_locations(cadata=ca.cert_pem)
        self._tls.verify_mode = ssl.CERT_REQUIRED
        self._server = _Server(self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}"

    @property
    def answering(self) -> bool:
        return self._thread is not None

    def answer(self) -> None:
        """Listen and serve from now on (idempotent)."""
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._server.server_activate()
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=f"node-api-{self.layer}", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()  # every watch stream ends
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
        self._server.server_close()

    # What kubelets do to their Node.

    def set_node(self, name: str, provider_id: str, ready: bool) -> None:
        """Register the Node (ADDED) or change its Ready condition (MODIFIED)."""
        reason, message = (
            ("KubeletReady", "kubelet is posting ready status") if ready else NOT_READY
        )
        condition = {"type": "Ready", "status": "True" if ready else "False"}
        condition.update(reason=reason, message=message)
        with self._cond:
            self._version += 1
            kind = "MODIFIED" if name in self._nodes else "ADDED"
            node = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "resourceVersion": str(self._version)},
                "spec": {"providerID": provider_id},
                "status": {"conditions": [condition]},
            }
            self._nodes[name] = node
            line = json.dumps({"type": kind, "object": node}).encode() + b"\n"
            self._changes.append((self._version, line))
            self._cond.notify_all()

    # What the handlers answer.

    def _list(self) -> bytes:
        with self._cond:
            body = {
                "apiVersion": "v1",
                "kind": "NodeList",
                "metadata": {"resourceVersion": str(self._version)},
                "items": list(self._nodes.values()),
            }
        return json.dumps(body).encode()

    def _stream(self, since: int, write: Callable[[bytes], None]) -> None:
        """Every change after ``since``, then each as it comes, until the API closes."""
        with self._cond:
            index = bisect.bisect_right(self._changes, since, key=lambda change: change[0])
        while True:
            with self._cond:
                while index >= len(self._changes) and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                lines = [line for _, line in self._changes[index:]]
                index = len(self._changes)
            write(b"".join(lines))

    def _create(self, path: str, body: bytes) -> tuple[int, bytes]:
        obj = json.loads(body or b"{}")
        name = (obj.get("metadata") or {}).get("name", "")
        with self._cond:
            key = f"{path}/{name}"
            if key in self._created:
                status = {"kind": "Status", "apiVersion": "v1", "status": "Failure"}
                status.update(reason="AlreadyExists", message=f"{name} already exists")
                return 409, json.dumps({**status, "code": 409}).encode()
            self._created.add(key)
            self._version += 1
            obj.setdefault("metadata", {})["resourceVersion"] = str(self._version)
        return 201, json.dumps(obj).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, api: NodeAPI) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        self.server_bind()  # the port is ours; connections are refused until answer()

    def finish_request(self, request: Any, client_address: Any) -> None:
        start = time.thread_time()
        try:
            with self.api._tls.wrap_socket(request, server_side=True) as tls:
                super().finish_request(tls, client_address)
        except (ssl.SSLError, OSError):
            pass  # a client gone mid-handshake or mid-stream
        finally:
            with self.api._cond:
                self.api.cpu_seconds += time.thread_time() - start

    def shutdown_request(self, request: Any) -> None:
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_WR)
        request.close()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection; a watch ends at close

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _count(self) -> NodeAPI:
        api = self.server.api
        with api._cond:
            api.requests += 1
        return api

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        api = self._count()
        url = urlsplit(self.path)
        if url.path != "/api/v1/nodes":
            self._send(404, b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}')
            return
        query = parse_qs(url.query)
        if query.get("watch") != ["true"]:
            self._send(200, api._list())
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.flush()

        def write(data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        api._stream(int(query.get("resourceVersion", ["0"])[0] or 0), write)

    def do_POST(self) -> None:
        api = self._count()
        length = int(self.headers.get("Content-Length") or 0)
        status, body = api._create(urlsplit(self.path).path, self.rfile.read(length))
        self._send(status, body)


class Kubelets:
    """Each layer's nodes joining once installed (one timeline thread for all)."""

    def __init__(
        self,
        apis: Mapping[str, NodeAPI],  # layer -> its API
        members: Mapping[str, tuple[str, str]],  # node -> (its layer, its providerID)
        init_nodes: Mapping[str, str],  # layer -> its init node
        join_seconds: tuple[float, float],  # installed to Ready
        seed: int = 1,
    ) -> None:
        self.apis, self.members, self.join_seconds = apis, members, join_seconds
        self._init = set(init_nodes.values())
        self._rng, self._lock = random.Random(seed), threading.Lock()
        self._timeline = Timeline("kubelets")
        self.thread = self._timeline.thread

    def installed(self, node: str) -> None:
        """``Fleet(on_installed=...)``: the node boots its disk and runs kubeadm."""
        if node in self.members:
            self._later(self._delay() / 2, lambda: self._register(node))

    def _register(self, node: str) -> None:
        layer, provider = self.members[node]
        api = self.apis[layer]
        if node in self._init:
            api.answer()  # kubeadm init: the API comes up, then its kubelet registers
        elif not api.answering:  # kubeadm join retries until the API answers
            self._later(self._delay() / 2, lambda: self._register(node))
            return
        api.set_node(node, provider, ready=False)
        self._later(self._delay() / 2, lambda: api.set_node(node, provider, ready=True))

    def _delay(self) -> float:
        with self._lock:
            return self._rng.uniform(*self.join_seconds)

    def _later(self, delay: float, call: Callable[[], None]) -> None:
        self._timeline.at(delay, call)

    def stop(self) -> None:
        self._timeline.stop()
