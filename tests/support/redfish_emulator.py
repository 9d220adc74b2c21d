"""sushy-tools' Redfish emulator (fake driver) served in this process on 127.0.0.1.

The emulator is a process-wide Flask app configured once, so a test session
shares one emulator holding many systems; ``take`` hands each test systems
no other test has touched. Basic auth is on (an htpasswd file with a bcrypt
hash, as sushy-tools requires). The fake driver's random 1-11 s power delay
is set to 0 by replacing its module's ``random`` (shared/TESTING.md).
"""

from __future__ import annotations

import io
import random
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
from werkzeug.serving import BaseWSGIServer, make_server

USERNAME = "strata"


class _NoDelay:
    def randint(self, a: int, b: int) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(random, name)


@dataclass
class FakeSystem:
    uuid: str
    name: str
    mac: str

    @property
    def path(self) -> str:
        return f"/redfish/v1/Systems/{self.uuid}"


Observer = Callable[[str, str, bytes], None]


class Observed:
    """WSGI middleware: after each successful POST or PATCH, tell the observers (method,
    path, body). How a test sees what a controller asked the BMC to do."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.observers: list[Observer] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method not in ("POST", "PATCH") or not self.observers:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        statuses: list[str] = []

        def recorded(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        result = self.app(environ, recorded)
        if statuses and statuses[0].startswith("2"):
            for observer in list(self.observers):
                observer(method, path, body)
        return result


@dataclass
class Emulator:
    port: int
    password: str
    systems: list[FakeSystem]
    app: Observed
    named: dict[str, FakeSystem] = field(default_factory=dict)
    servers: list[BaseWSGIServer] = field(default_factory=list)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"redfish+http://127.0.0.1:{self.port}"

    def take(self, count: int = 1) -> list[FakeSystem]:
        with self._lock:
            if self._next + count > len(self.systems):
                raise RuntimeError("the emulator ran out of fresh systems: raise SYSTEMS")
            taken = self.systems[self._next : self._next + count]
            self._next += count
            return taken

    def serve_tls(self, cert: Path, key: Path) -> int:
        """The same emulator over HTTPS on another port."""

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = make_server("127.0.0.1", 0, self.app, threaded=True, ssl_context=context)
        self._serve(server)
        return server.server_port

    def _serve(self, server: BaseWSGIServer) -> None:
        self.servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def start_emulator(
    state_dir: Path, count: int, password: str, named: Sequence[tuple[str, str]] = ()
) -> Emulator:
    """``count`` anonymous systems for ``take``, and the ``named`` ones (name, MAC) a
    test asks for by name (the lab example's servers)."""
    from sushy_tools.emulator import main as emulator
    from sushy_tools.emulator.resources.systems import fakedriver

    fakedriver.random = _NoDelay()
    systems = [
        FakeSystem(str(uuid.uuid4()), f"node-{i:04}", f"52:54:00:aa:{i >> 8:02x}:{i & 0xFF:02x}")
        for i in range(count)
    ]
    extra = [FakeSystem(str(uuid.uuid4()), name, mac) for name, mac in named]
    htpasswd = state_dir / "htpasswd"
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"{USERNAME}:{digest}\n")
    emulator.app.configure(
        extra_config={
            "SUSHY_EMULATOR_FAKE_DRIVER": True,
            "SUSHY_EMULATOR_FAKE_SYSTEMS": [
                {
                    "uuid": s.uuid,
                    "name": s.name,
                    "power_state": "Off",
                    "nics": [{"mac": s.mac, "ip": "127.0.0.1"}],
                }
                for s in systems + extra
            ],
            "SUSHY_EMULATOR_STATE_DIR": str(state_dir),
            "SUSHY_EMULATOR_AUTH_FILE": str(htpasswd),
        }
    )
    app = Observed(emulator.app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    running = Emulator(server.server_port, password, systems, app, {s.name: s for s in extra})
    running._serve(server)
    return running
