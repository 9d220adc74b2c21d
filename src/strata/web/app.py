"""The web face's HTTP side, on an address and port of its own (``--web-listen``),
never the boot service's: the dashboard (``/``, its three files under ``/static/``),
``/metrics`` for Prometheus and the REST API (``strata.web.api``, ``strata.web.live``),
under the access rules of ``strata.web.access``. The dashboard's files hold no data
(the data comes from the API, with its access rules), so they are served to anyone,
with a Content-Security-Policy that lets them load nothing but this origin's own.
Answers are gzip-compressed for clients that take it (the rack view of 10,009 servers
is ~0.6 MB of JSON, ~40 kB compressed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from strata.errors import StrataError
from strata.web.access import HEADERS, Access, StrictHeaders, refused

__all__ = ["TEXT_FORMAT", "WebRunner", "WebStartFailed", "web_app"]

# Prometheus' text format 0.0.4 (what Prometheus 2 and promtool read; prometheus_client's
# newer default names version 1.0.0 for the same text)
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
STATIC_DIR = Path(__file__).parent / "static"
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
PAGE_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
}


class WebStartFailed(StrataError):
    """The web face could not listen on its address (in use, not this host's)."""

    kind = "web"


def web_app(
    registry: CollectorRegistry, access: Access, api: Sequence[BaseRoute] = ()
) -> Starlette:
    """The web face for one run: ``GET /metrics`` (``registry`` in Prometheus' text
    format 0.0.4, what ``promtool check metrics`` reads) and the ``api`` routes; views
    as ``access`` allows (``TokenAccess``: open on the loopback, elsewhere with the
    bearer token)."""

    async def metrics(request: Request) -> Response:
        refusal = await refused(access, request)
        if refusal is not None:
            return refusal
        return Response(generate_latest(registry), media_type=TEXT_FORMAT, headers=HEADERS)

    routes = [
        Route("/", _page("index.html")),
        *(Route(f"/static/{name}", _page(name)) for name in STATIC if name != "index.html"),
        Route("/metrics", metrics, methods=["GET"]),
        *api,
    ]
    middleware = [Middleware(StrictHeaders), Middleware(GZipMiddleware, minimum_size=1024)]
    return Starlette(routes=routes, middleware=middleware)


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    body, media = (STATIC_DIR / name).read_bytes(), STATIC[name]

    async def page(request: Request) -> Response:
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    return page


class WebRunner:
    """``app`` (an ASGI app) on ``host:port`` in a uvicorn server on a thread; ``start`` returns once
    it listens (``WebStartFailed`` if it cannot), ``stop`` waits for it to end."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        host: str,
        port: int,
        stopping: threading.Event | None = None,
    ) -> None:
        """``stopping``: set by ``stop`` first, so that open streams end on their own
        (``strata.web.live``) before the server is told to."""
        self.host, self.port = host, port
        self.stopping = stopping or threading.Event()
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            proxy_headers=False,  # the peer is the socket's: no X-Forwarded-For (access)
            timeout_graceful_shutdown=5,
        )
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
        self.stopping.set()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
