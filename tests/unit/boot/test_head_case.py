"""Response heads as GRUB reads them: ``Content-Length: `` byte for byte (strata.boot.head_case)."""

from __future__ import annotations

import socket

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from strata.boot.head_case import canonical_head
from tests.support.boot_server import RunningServer, free_port


def test_names_are_capitalised_and_nothing_else_changes() -> None:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b'etag: "ab-cd"\r\nx-strata-thing: a-b: c\r\n\r\nhttp/1.1 content-length: body'
    )
    assert canonical_head(head) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b'Etag: "ab-cd"\r\nX-Strata-Thing: a-b: c\r\n\r\nhttp/1.1 content-length: body'
    )


async def _echo_head(request: Request) -> PlainTextResponse:
    return PlainTextResponse("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # a body like a head


def _raw_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_boot_services_server_writes_heads_grub_reads() -> None:
    """Through Strata's own server (uvicorn writes names in lower case): the head says
    ``Content-Length: ``; a body that looks like a head goes out untouched."""
    app = Starlette(routes=[Route("/x", _echo_head)])
    server = RunningServer(app, free_port(), guarded=True)
    try:
        answer = _raw_get(server.port, "/x")
    finally:
        server.stop()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 38\r\n" in head + b"\r\n" and b"content-length" not in head
    assert body == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
