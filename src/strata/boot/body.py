"""Request bodies, bounded in bytes and seconds and read whole before a route sees them.

ASGI middleware, so the rule holds under any server (uvicorn in ``strata serve``,
Starlette's test client in unit tests). A body over the limit is refused with ``413``
before it is read when its ``Content-Length`` says so, and as soon as it passes the
limit when it comes chunked (RFC 9110 15.5.14); a body that does not arrive in time
gets ``408`` (RFC 9110 15.5.9); a client that goes away mid-body gets nothing and
nothing is logged. Routes then read a complete, bounded body and never see a
disconnect while reading it. Both answers close the connection: the rest of the
body is not worth reading.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit"]


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None:
            await _answer(send, 400, "the Content-Length header is not a number")
            return
        if declared > self.max_bytes:
            await _answer(send, 413, f"the body exceeds {self.max_bytes} bytes")
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive)
        except TimeoutError:
            await _answer(send, 408, f"the body took more than {self.timeout:g} s")
            return
        except _TooLarge:
            await _answer(send, 413, f"the body exceeds {self.max_bytes} bytes")
            return
        except _Gone:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    """The declared body size; 0 without the header; None when it is not a number
    (the HTTP parser refuses most such requests first)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            valid = text.isascii() and text.isdigit() and len(text) <= 20  # a 64-bit size
            return int(text) if valid else None
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then the server's own receive (a later disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(send: Send, status: int, reason: str) -> None:
    body = f"{reason}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
