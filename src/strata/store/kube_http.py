"""The Kubernetes store's HTTP client: HTTP/1.1 over the standard library's
``http.client``, a pool of kept-alive connections shared by the store's threads.

Why not lightkube's ``httpx2.Client``: per request it cost this process ~0.7 ms of CPU
for a GET and ~0.9 ms for a status PUT of a Server, against ~0.3 and ~0.4 ms here, on
one thread (URL parsing, request and response models, h11 events); with 512 worker
threads on one client its pool also closed every connection past 20 idle ones, so a
burst paid TLS handshakes again (bench/lifecycle_kube.py, docs/benchmarks.md). What
lightkube does well is kept: the kubeconfig is read by lightkube and its connection
parameters used as they are (the server's URL, the TLS context with the cluster's CA
and the client certificate, the ``httpx2.Auth`` for a bearer token, a token file, an
exec credential plugin or basic auth).

Authentication: the ``Authorization`` header the auth flow gives is kept and sent with
each request; a 401 runs the flow again with that response (lightkube's flows re-read
a token file or re-run the exec plugin then) and the request is sent once more with
the new header — what lightkube's flows do per request, done once per credential.

Connections (RFC 9112 section 9, persistence): at most ``connections`` at once, those
idle kept for reuse newest first, dropped after ``keepalive`` seconds idle or when the
server has closed them (readable while idle). A request on a kept connection that the
server closed before answering (it may close an idle one as we send) is sent once more
on a new connection; any other failure is ``HttpError``. A request that finds no
connection free within ``timeout`` raises ``PoolTimeout`` (nothing was sent).
"""

from __future__ import annotations

import contextlib
import http.client
import json as jsonlib
import select
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["HttpError", "KubeHttp", "PoolTimeout", "Response"]

_CLOSED_BEFORE_ANSWER = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class HttpError(Exception):
    """The request failed below HTTP: connect, TLS, a closed connection, a timeout."""


class PoolTimeout(HttpError):
    """No connection was free within the timeout: nothing was sent."""


class Response:
    """An answer: ``status_code`` and the body (``content``, ``json()``)."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return jsonlib.loads(self.content)


class KubeHttp:
    """``base_url``: ``https://host:port`` (or ``http://``); ``context``: the TLS context
    (client certificate included); ``auth``: an ``httpx2.Auth`` or None; ``timeout``:
    seconds for each socket operation and for a free connection."""

    def __init__(
        self,
        base_url: str,
        context: ssl.SSLContext | None = None,
        auth: Any = None,
        timeout: float = 30.0,
        connections: int = 100,
        keepalive: float = 30.0,
    ) -> None:
        url = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self._tls = url.scheme == "https"
        self._host, self._port = url.hostname or "localhost", url.port
        self._prefix = url.path.rstrip("/")
        self._context, self._auth, self._timeout = context, auth, timeout
        self._keepalive = keepalive
        self._free = threading.BoundedSemaphore(connections)
        self._idle: list[tuple[float, http.client.HTTPConnection]] = []  # newest last
        self._lock = threading.Lock()
        self._authorization: str | None = None
        self.connections_made = 0

    def request(
        self,
        verb: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request; ``json``: the body, encoded as JSON; ``params``: the query."""
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        sent = {"Accept": "application/json", "User-Agent": "strata", **(headers or {})}
        body = None
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            sent.setdefault("Content-Type", "application/json")
        if self._auth is not None:
            sent["Authorization"] = self._authorization or self._authorize(verb, target)
        response = self._exchange(verb, target, body, sent)
        if response.status_code == 401 and self._auth is not None:
            renewed = self._authorize(verb, target, sent["Authorization"], response)
            if renewed != sent["Authorization"]:
                response = self._exchange(verb, target, body, sent | {"Authorization": renewed})
        return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, conn in idle:
            conn.close()

    def __enter__(self) -> KubeHttp:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- connections ---------------------------------------------------------------

    def _exchange(
        self, verb: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        if not self._free.acquire(timeout=self._timeout):
            raise PoolTimeout("no connection free")
        try:
            conn, reused = self._take()
            try:
                return self._on(conn, verb, target, body, headers)
            except _CLOSED_BEFORE_ANSWER:
                if reused:  # it had closed a kept connection: once more on a new one
                    with contextlib.suppress(*_CLOSED_BEFORE_ANSWER):
                        return self._on(self._connect(), verb, target, body, headers)
                raise HttpError("the server closed the connection") from None
        finally:
            self._free.release()

    def _on(
        self,
        conn: http.client.HTTPConnection,
        verb: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> Response:
        """The request on ``conn``, kept for reuse when it stays open (closed on a failure)."""
        try:
            conn.request(verb, target, body=body, headers=headers)
            answer = conn.getresponse()
            response = Response(answer.status, answer.read())
        except _CLOSED_BEFORE_ANSWER:
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as failure:
            conn.close()
            raise HttpError(type(failure).__name__) from None
        if answer.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append((time.monotonic(), conn))
        return response

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection still open (newest first), else a new one; and whether
        it was kept."""
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    break
                since, conn = self._idle.pop()
            if now - since < self._keepalive and not _readable(conn):
                return conn, True
            conn.close()  # expired, or the server closed it (or sent what no one asked)
        return self._connect(), False

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._tls:
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        with self._lock:
            self.connections_made += 1
        return conn

    # -- authentication ----------------------------------------------------------------

    def _authorize(
        self, verb: str, target: str, used: str | None = None, refused: Response | None = None
    ) -> str:
        """The ``Authorization`` header from the auth flow (``httpx2.Auth``): its first
        request's, or, given the 401 answer to ``used``, the one it sends next (the same
        when it has no other)."""
        import httpx2

        request = httpx2.Request(verb, self.base_url + target)
        flow = self._auth.sync_auth_flow(request)
        header = str(next(flow).headers.get("Authorization", ""))
        if refused is not None:
            request.headers["Authorization"] = used or header
            try:
                retried = flow.send(httpx2.Response(refused.status_code, request=request))
                header = str(retried.headers.get("Authorization", ""))
            except StopIteration:
                header = used or header
        flow.close()
        self._authorization = header
        return header


def _readable(conn: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read has been closed by the server."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True
