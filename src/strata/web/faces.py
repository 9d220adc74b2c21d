"""The in-cluster controller's web face: the face of each Topology it drives, one
listener for all (``strata controller --web-listen``).

- ``/topologies/NAME/`` is NAME's face, as ``strata apply --web-listen`` serves one
  topology's at ``/``: the dashboard, ``api/v1/…``, ``metrics``
  (``/topologies/NAME`` redirects there, so the dashboard's relative links resolve).
- ``/api/v1/topologies``: the Topology objects that have a face, for a client
  allowed to list them.
- A face appears when its Topology's first run starts and goes with its object.
- Whether a face exists is said only to a client allowed to see it: the dashboard's
  files (no data) are served under any name, and anything else under a name with no
  face asks that name's access first (401, 403), then answers 404.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from strata.web.access import HEADERS, Access, StrictHeaders, refused
from strata.web.app import web_app

__all__ = ["Faces"]

PREFIX = "/topologies/"
ASGIApp = Callable[..., Any]


class Faces:
    """ASGI app: each Topology's face under ``/topologies/NAME/``; ``listing`` decides
    who may list them (``/api/v1/topologies``), ``access(NAME)`` who may see NAME's
    (asked of a name with no face before it is said to have none)."""

    def __init__(self, listing: Access, access: Callable[[str], Access]) -> None:
        self.listing, self.access = listing, access
        self._apps: dict[str, ASGIApp] = {}
        self._lock = threading.Lock()
        self._strict = StrictHeaders(self._root)
        self._files = web_app(CollectorRegistry(), listing)  # its page and static files

    def show(self, name: str, app: ASGIApp) -> None:
        """Serve ``app`` as NAME's face (replacing the one before)."""
        with self._lock:
            self._apps[name] = app

    def hide(self, name: str) -> None:
        """NAME's face no longer served (its requests: as a name with none)."""
        with self._lock:
            self._apps.pop(name, None)

    def names(self) -> list[str]:
        """The names with a face, sorted."""
        with self._lock:
            return sorted(self._apps)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self._strict(scope, receive, send)
            return
        name, slash, rest = path[len(PREFIX) :].partition("/")
        with self._lock:
            app = self._apps.get(name)
        if not name or not slash:
            await self._strict(scope, receive, send)  # the redirect to NAME/, or 404
            return
        if app is None and ("/" + rest == "/" or rest.startswith("static/")):
            app = self._files  # the same files for any name: no face is said to exist
        # the path stays whole; the app routes what follows its root_path (ASGI spec)
        inner = {**scope, "root_path": f"{PREFIX}{name}"}
        await (app or self._missing(name))(inner, receive, send)

    def _missing(self, name: str) -> ASGIApp:
        async def missing(scope: dict[str, Any], receive: Any, send: Any) -> None:
            request = Request(scope, receive)
            answer = await refused(self.access(name), request) or _not_found()
            await StrictHeaders(answer)(scope, receive, send)

        return missing

    async def _root(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        answer = await self._answer(request)
        await answer(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        name = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if name and "/" not in name:
            return RedirectResponse(path + "/", 308, headers=HEADERS)  # any name: its root
        if path != "/api/v1/topologies":
            return _not_found()
        refusal = await refused(self.listing, request)
        if refusal is not None:
            return refusal
        items = [{"name": n, "url": f"{PREFIX}{n}/"} for n in self.names()]
        return JSONResponse({"items": items}, headers=HEADERS)


def _not_found() -> Response:
    detail = "each Topology's face is at /topologies/NAME/ (/api/v1/topologies lists them)"
    return JSONResponse({"error": "not-found", "detail": detail}, 404, headers=HEADERS)
