"""A real HTTP server holding a Redfish tree in memory, for wire-level tests.

It speaks enough Redfish for a client like sushy: the service root, session
login (SessionService, X-Auth-Token) and basic auth, GET of any resource,
PATCH (merged into the resource), and POST to actions registered by the
test. Every request is recorded. With ``etags`` ("weak" or "strong", per path in
``etag_kinds``) a resource answers with an ``ETag`` header and ``@odata.etag`` that
change with it, and a PATCH whose ``If-Match`` does not match it by RFC 9110's
strong comparison (section 13.1.1: a weak tag never matches, so ``W/"x"`` is
answered 412 and only ``"x"`` is taken — the BMCs sushy's weak-ETag retry was
written for); a PATCH without ``If-Match`` is taken. ``fault`` makes it misbehave:
``"hang"`` (never answers), ``"error500"`` (every request but the root and
login), ``"malformed"`` (resources answer broken JSON).
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Action = Callable[["RedfishMock", dict[str, Any]], tuple[int, dict[str, Any] | None]]
# A PATCH check: None to accept the body; a text for a 400 GeneralError; or (status, body).
Refusal = str | tuple[int, dict[str, Any]] | None
Check = Callable[[dict[str, Any]], Refusal]
_ROOT_PATHS = ("/redfish", "/redfish/v1", "/redfish/v1/")


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # http.server's 5 drops SYNs when many clients connect at once


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any] | None
    status: int = 0  # the answer's, once sent


class RedfishMock:
    def __init__(
        self,
        resources: dict[str, dict[str, Any]],
        *,
        username: str,
        password: str,
        actions: dict[str, Action] | None = None,
        patchable: set[str] | None = None,
        checks: dict[str, Check] | None = None,
        fault: str | None = None,
        etags: str | None = None,
    ) -> None:
        self.resources = copy.deepcopy(resources)
        self.actions = dict(actions or {})
        self.patchable = set(patchable or ())  # answered with "Allow: GET, PATCH"
        self.checks = dict(checks or {})  # path -> refusal of a bad PATCH body
        self.username, self.password, self.fault = username, password, fault
        self.etags = etags  # "weak", "strong" or None: the default kind
        self.etag_kinds: dict[str, str] = {}  # path -> kind, where it differs
        self.versions: dict[str, int] = {}  # bumped by every change of a resource
        self.requests: list[Recorded] = []
        self.tokens: set[str] = set()
        self.lock = threading.Lock()
        self.release = threading.Event()  # frees handlers stuck in "hang"
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def get(self, path: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.resources[path])

    def update(self, path: str, changes: dict[str, Any]) -> None:
        with self.lock:
            _merge(self.resources[path], changes)
            self.versions[path] = self.versions.get(path, 0) + 1

    def put(self, path: str, resource: dict[str, Any]) -> None:
        """Add or replace a whole resource."""
        with self.lock:
            self.resources[path] = copy.deepcopy(resource)
            self.versions[path] = self.versions.get(path, 0) + 1

    def etag(self, path: str) -> str | None:
        """The resource's ETag as served (``W/"…"`` when weak); None without ETags."""
        kind = self.etag_kinds.get(path, self.etags)
        if kind is None:
            return None
        tag = f'"{zlib.crc32(f"{path}#{self.versions.get(path, 0)}".encode()):08X}"'
        return f"W/{tag}" if kind == "weak" else tag

    def precondition_fails(self, path: str, if_match: str | None) -> bool:
        """RFC 9110 section 13.1.1: If-Match compares strongly; ``*`` matches; a stale
        tag fails."""
        tag = self.etag(path)
        if if_match is None or tag is None or if_match.strip() == "*":
            return False
        opaque = tag.removeprefix("W/")  # the BMC's own weak tag: its W/ dropped, or 412
        return opaque not in (t.strip() for t in if_match.split(","))

    def remove(self, path: str, *keys: str) -> None:
        """Drop ``keys`` (a path into nested objects) from a resource."""
        with self.lock:
            target = self.resources[path]
            for key in keys[:-1]:
                target = target[key]
            target.pop(keys[-1], None)
            self.versions[path] = self.versions.get(path, 0) + 1

    def calls(self, method: str, path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and path in (None, r.path)]

    def taken(self, method: str, path: str | None = None) -> list[Recorded]:
        """The calls answered with a 2xx (a PATCH retried after a 412 counts once)."""
        return [r for r in self.calls(method, path) if 200 <= r.status < 300]

    def authorized(self, headers: Any) -> bool:
        token = headers.get("X-Auth-Token")
        if token is not None:
            return token in self.tokens
        basic = headers.get("Authorization", "")
        if not basic.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
        return (user, password) == (self.username, self.password)


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _handler(mock: RedfishMock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> dict[str, Any] | None:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return None
            try:
                parsed = json.loads(self.rfile.read(length))
            except ValueError:
                return None
            return parsed if isinstance(parsed, dict) else None

        def _send(
            self, status: int, body: Any = None, headers: dict[str, str] | None = None
        ) -> None:
            raw = (
                b""
                if body is None
                else (body if isinstance(body, bytes) else json.dumps(body).encode())
            )
            record = getattr(self, "record", None)
            if record is not None:
                record.status = status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("OData-Version", "4.0")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if self.close_connection:  # RFC 9112 section 9.6: say so when closing
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": {"code": "Base.1.0.GeneralError", "message": message}})

        def _serve(self, method: str) -> None:
            path = self.path.split("?")[0].rstrip("/") or "/"
            body = self._body() if method in ("POST", "PATCH") else None
            self.record = Recorded(method, path, body)
            with mock.lock:
                mock.requests.append(self.record)
            if mock.fault == "hang":
                mock.release.wait(120)
                return
            if path in _ROOT_PATHS or path == "/redfish/v1":
                return self._send(200, mock.get("/redfish/v1"))
            if method == "POST" and path == "/redfish/v1/SessionService/Sessions":
                return self._login(body or {})
            if not mock.authorized(self.headers):
                return self._error(401, "Authentication required")
            if mock.fault == "error500":
                return self._error(500, "Internal error: the BMC's web server crashed")
            if mock.fault == "malformed" and method == "GET":
                return self._send(200, b'{"@odata.id": "/redfish/v1/Systems/1", "PowerState": ')
            self._resource(method, path, body)

        def _login(self, body: dict[str, Any]) -> None:
            if (body.get("UserName"), body.get("Password")) != (mock.username, mock.password):
                return self._error(401, "Invalid username or password")
            token = uuid.uuid4().hex
            mock.tokens.add(token)
            location = f"/redfish/v1/SessionService/Sessions/{token[:8]}"
            self._send(
                201,
                {"@odata.id": location, "Id": token[:8]},
                {"X-Auth-Token": token, "Location": location},
            )

        def _resource(self, method: str, path: str, body: dict[str, Any] | None) -> None:
            if method == "DELETE":
                return self._send(204)
            if method == "POST":
                action = mock.actions.get(path)
                if action is None:
                    return self._error(404, f"no action at {path}")
                status, answer = action(mock, body or {})
                return self._send(status, answer)
            if path not in mock.resources:
                return self._error(404, f"no resource at {path}")
            if method == "PATCH":
                if mock.precondition_fails(path, self.headers.get("If-Match")):
                    return self._error(412, "The ETag in If-Match does not match the resource")
                check = mock.checks.get(path)
                refusal = check(body or {}) if check else None
                if isinstance(refusal, tuple):
                    return self._send(*refusal)
                if refusal:
                    return self._error(400, refusal)
                mock.update(path, body or {})
                return self._send(200, mock.get(path))
            headers = {"Allow": "GET, PATCH" if path in mock.patchable else "GET"}
            resource, tag = mock.get(path), mock.etag(path)
            if tag is not None:
                headers["ETag"], resource["@odata.etag"] = tag, tag
            self._send(200, resource, headers)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler
