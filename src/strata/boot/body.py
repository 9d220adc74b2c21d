"""Request bodies: read only by the routes that take one, bounded in bytes and seconds.

Of the boot service's routes only the phone-home (``POST /events/NODE``) takes a body,
and only once its node and token have been checked, only when the event is not in the
query. Every other request's body is never waited for: a ``GET`` or ``HEAD`` has no use
for one (RFC 9110 9.3.1, 9.3.2: content in such a request has no defined semantics),
nor a ``405``. Waiting for it let a client that declares a body and sends it a byte a
second hold a connection, and with a few hundred of them every connection, on
``GET /boot.ipxe`` as well as anywhere.

A body that is declared (``Content-Length`` above 0, or ``Transfer-Encoding``: RFC 9112
6.1-6.3) and not read by the time the answer starts leaves the connection unusable: the
rest of it would be parsed as the next request. ``UnreadBody``, ASGI middleware on the
whole app (so the rule holds under any server: uvicorn in ``strata serve``, Starlette's
test client in unit tests), then adds ``connection: close`` to the answer, and the
server closes the connection after it (RFC 9112 9.6) without reading the rest. It also
answers ``400`` for a ``Content-Length`` that is not a number (the HTTP parser refuses
most such requests first).

``read_body`` is how a route that takes a body reads it: whole, or refused with ``413``
before it is read when its ``Content-Length`` says it is too large and as soon as it
passes the limit when it comes chunked (RFC 9110 15.5.14), or ``408`` when it does not
arrive in time (RFC 9110 15.5.9). A client that goes away mid-body gets nothing and
nothing is logged. Those answers close the connection: the rest of the body is not worth
reading. (The connection guard, ``strata.boot.protocol``, may also close a connection
whose body is slow when the service needs its room.)
"""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BadEvent", "BodyRefused", "UnreadBody", "declares_body", "event_from_body", "read_body"]


class BodyRefused(Exception):
    """Why a body was not read; ``response()`` says so to the client, and closes."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason

    def response(self) -> Response:
        return PlainTextResponse(
            f"{self.reason}\n", status_code=self.status, headers={"connection": "close"}
        )


class _Gone(BodyRefused):
    """The client went away mid-body: the answer is written to nobody."""

    def __init__(self) -> None:
        super().__init__(400, "the client went away")


async def read_body(request: Request, max_bytes: int, timeout: float) -> bytes:
    """The request's whole body, at most ``max_bytes`` and within ``timeout`` seconds of
    being asked for; ``BodyRefused`` otherwise."""
    declared = content_length(request.scope["headers"])
    if declared is not None and declared > max_bytes:
        raise BodyRefused(413, f"the body exceeds {max_bytes} bytes")
    try:
        async with asyncio.timeout(timeout):
            return await _read(request.receive, max_bytes)
    except TimeoutError:
        raise BodyRefused(408, f"the body took more than {timeout:g} s") from None


async def _read(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyRefused(413, f"the body exceeds {max_bytes} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class UnreadBody:
    """App-wide: a declared body the route has not read when its answer starts closes the
    connection after the answer; a ``Content-Length`` that is not a number is a ``400``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not declares_body(scope["headers"]):
            await self.app(scope, receive, send)
            return
        if content_length(scope["headers"]) == -1:
            await PlainTextResponse(
                "the Content-Length header is not a number\n",
                status_code=400,
                headers={"connection": "close"},
            )(scope, receive, send)
            return
        read = False

        async def watched() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                read = True
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and not read:
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*kept, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, watched, closing)


def declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """The request says a body follows: ``Transfer-Encoding`` (chunked), or a
    ``Content-Length`` other than 0 (RFC 9112 6.3; without either, there is none)."""
    if any(name == b"transfer-encoding" for name, _ in headers):
        return True
    return content_length(headers) not in (None, 0)


def content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared body size; None without the header; -1 when it is not a number."""
    for name, value in headers:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            valid = text.isascii() and text.isdigit() and len(text) <= 20  # a 64-bit size
            return int(text) if valid else -1
    return None


class BadEvent(ValueError):
    """A phone-home body that is not ``{"event": NAME}``; the message says what is wrong."""


def event_from_body(body: bytes) -> str | None:
    """The event a phone-home body names (None: none); ``BadEvent`` for any other body.
    The body is bounded (``read_body``); nesting too deep for the parser is not JSON."""
    if not body.strip():
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadEvent('the body is not JSON: send {"event": NAME}') from None
    if not isinstance(value, dict):
        raise BadEvent('the body must be a JSON object: {"event": NAME}')
    event = value.get("event")
    if event is not None and not isinstance(event, str):
        raise BadEvent("event must be a string")
    return event
