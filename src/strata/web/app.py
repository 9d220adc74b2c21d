"""The web face's HTTP side: ``/metrics`` for Prometheus, on an address and port of its
own (``strata serve --web-listen``), never the boot service's.

Access: read-only views answer clients on the loopback only, until the bearer token
of docs/web.md is built; any other client gets ``403`` and changes nothing. Answers
carry ``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff``; nothing
served names a secret (the metrics are counts by state, layer, route and status).
"""

from __future__ import annotations

import ipaddress
import threading
import time

import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from strata.errors import StrataError

__all__ = ["WebRunner", "WebStartFailed", "web_app"]

HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# Prometheus' text format 0.0.4 (what Prometheus 2 and promtool read; prometheus_client's
# newer default names version 1.0.0 for the same text)
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


class WebStartFailed(StrataError):
    """The web face could not listen on its address (in use, not this host's)."""

    kind = "web"


def web_app(registry: CollectorRegistry) -> Starlette:
    """The web face for one run: ``GET /metrics``, ``registry`` in Prometheus' text
    format (version 0.0.4, what ``promtool check metrics`` reads)."""

    async def metrics(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        return Response(generate_latest(registry), media_type=TEXT_FORMAT, headers=HEADERS)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])


def _refused(request: Request) -> Response | None:
    """``403`` for a client not on the loopback (no token is taken yet)."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    text = "the web face answers the loopback only (its bearer token is not built yet)\n"
    return PlainTextResponse(text, status_code=403, headers=HEADERS)


class WebRunner:
    """``app`` on ``host:port`` in a uvicorn server on a thread; ``start`` returns once
    it listens (``WebStartFailed`` if it cannot), ``stop`` waits for it to end."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self.server.run, name="web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise WebStartFailed(f"the web face could not listen on {self.host}:{self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
