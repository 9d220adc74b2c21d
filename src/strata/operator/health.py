"""``/healthz`` and ``/readyz`` for the kubelet's probes (Kubernetes docs, "Configure
Liveness, Readiness and Startup Probes"): 200 ``ok`` or 503 with what is wrong, as
plain text. Liveness: the controller's loop still turns; readiness: it has listed its
Topology objects once (it knows what to do)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Check", "HealthServer"]

Check = Callable[[], str | None]  # None: fine; else what is wrong


class HealthServer:
    """Serves the checks on ``(host, port)`` in a daemon thread until ``stop``."""

    def __init__(self, host: str, port: int, live: Check, ready: Check) -> None:
        checks = {"/healthz": live, "/readyz": ready, "/livez": live}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                check = checks.get(self.path.split("?")[0])
                problem = "not found" if check is None else check()
                code = 404 if check is None else 503 if problem else 200
                body = (problem or "ok").encode() + b"\n"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # probes: not logged
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
