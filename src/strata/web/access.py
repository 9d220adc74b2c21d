"""Who may see and do what through the web face (docs/web.md, "Access").

- Read-only views answer a client on the loopback as they are, when it names this
  host by a loopback address or ``localhost`` (its ``Host`` header): a page of another
  site whose name was made to resolve to 127.0.0.1 (DNS rebinding) names its own host
  and is refused. Any other client must send ``Authorization: Bearer TOKEN``
  (RFC 6750, 2.1). The peer's address is the socket's: no ``X-Forwarded-For`` is read.
- Actions (a retry) need the token from every client, the loopback included.
- The token is derived from the state's token-signing key, a secret the state already
  keeps (mode 0600; a Secret in a cluster): HMAC-SHA256 of a fixed label under that key
  (RFC 2104), base64url. It is never stored apart, so it is as safe as the key, and
  ``strata token`` prints it; a new key (``strata pivot`` keeps it) is a new token.
- The token travels in a header only, never a cookie: a page of another site cannot
  make a browser send it, so no request can be forged across sites (no CSRF).
- Every answer carries strict headers (``HEADERS``).

These rules are ``TokenAccess``. In a cluster (``strata controller --web-listen``) the
cluster's own auth decides instead (``strata.web.kube_access.ClusterAccess``): both are
an ``Access``, which every view and action asks first (``refused``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = [
    "HEADERS",
    "Access",
    "StrictHeaders",
    "TokenAccess",
    "bad_request",
    "bearer_token",
    "refusal",
    "refused",
    "unauthorized",
    "unknown_parameters",
    "web_token",
]

LABEL = b"strata web face bearer token v1"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def web_token(token_key: bytes) -> str:
    """The web face's bearer token for a state whose token-signing key is ``token_key``
    (43 base64url characters, 256 bits)."""
    digest = hmac.new(token_key, LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Access(Protocol):
    """Who may see and act: ``refusal`` is None when ``request`` may go on (a view, or
    with ``action`` an action), else the answer that refuses it (401 or 403).
    ``blocking``: ``refusal`` waits on the network (run off the event loop)."""

    blocking: bool

    def refusal(self, request: Request, action: bool) -> Response | None: ...


async def refused(access: Access, request: Request, *, action: bool = False) -> Response | None:
    """``access.refusal`` for ``request``, off the event loop when it blocks."""
    if access.blocking:
        return await asyncio.to_thread(access.refusal, request, action)
    return access.refusal(request, action)


class TokenAccess:
    """The state's own rules (the module's docstring): the loopback's views open, else
    the bearer ``token`` (``web_token``)."""

    blocking = False

    def __init__(self, token: str) -> None:
        self.token = token

    def refusal(self, request: Request, action: bool) -> Response | None:
        return refusal(request, self.token, action=action)


def refusal(request: Request, token: str, *, action: bool = False) -> Response | None:
    """None when ``request`` may go on: an action with the bearer ``token``, a view from
    the loopback or with the token. Else ``401`` with ``WWW-Authenticate: Bearer``
    (RFC 6750, 3), the same answer whatever was wrong, and nothing else said."""
    given = bearer_token(request)
    if given is not None and hmac.compare_digest(given.encode(), token.encode()):
        return None
    if not action and _loopback(request):
        return None
    why = "an action needs the bearer token" if action else "off the loopback, a bearer token"
    return unauthorized(f"{why}: `strata token` prints it")


def unauthorized(detail: str, status: int = 401) -> Response:
    """``401`` (no credentials, or not accepted) with ``WWW-Authenticate: Bearer``
    (RFC 6750, 3), or ``403`` (known, not allowed), saying ``detail``."""
    error = "unauthorized" if status == 401 else "forbidden"
    headers = {**HEADERS, "WWW-Authenticate": 'Bearer realm="strata"'} if status == 401 else HEADERS
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer TOKEN`` (RFC 6750, 2.1); None without one."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return given.strip()


def bad_request(detail: str) -> Response:
    """``400 {"error": "bad-request", "detail": …}``."""
    return JSONResponse({"error": "bad-request", "detail": detail}, 400, headers=HEADERS)


def unknown_parameters(request: Request, known: tuple[str, ...]) -> Response | None:
    """``bad_request`` naming the query parameters ``request`` gives beyond ``known``."""
    unknown = sorted(set(request.query_params) - set(known))
    if not unknown:
        return None
    takes = f"it takes {', '.join(known)}" if known else "it takes none"
    return bad_request(f"unknown query parameter {', '.join(unknown)}: {takes}")


def _loopback(request: Request) -> bool:
    """The peer is on the loopback and names this host as the loopback does."""
    return _is_loopback(request.client.host if request.client else "") and _loopback_host(
        request.headers.get("host", "")
    )


def _loopback_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    return name in ("localhost", "localhost.") or _is_loopback(name)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class StrictHeaders:
    """ASGI middleware: ``HEADERS`` on every answer that does not set them itself (the
    framework's own 404, 405 and 500 answers too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def strict(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                given = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in HEADERS.items()
                    if name.lower().encode() not in given
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, strict)
