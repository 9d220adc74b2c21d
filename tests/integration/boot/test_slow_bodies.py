"""Request bodies against the real server on 127.0.0.1: only the phone-home waits for one,
and connections whose bodies crawl give way when the service is full.

The slow-body (slow POST) attack: a client sends a whole head that declares a body,
then the body a byte a second. Before, every route waited for the body (10 s) and a
connection with a whole head was never closed for room, so 360 such connections from
six addresses held all 320 a 1,024-file service has, and 59 of 60 requests for
``/boot.ipxe`` got ``503`` (bench/slow_clients.py --slow-body 360). What is asserted
are properties (who is answered, and how), never how fast; the body timeout is longer
than the tests wait unless a test is about it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from strata.boot import Grant, Stage, TokenSigner
from strata.boot.limits import Limits
from tests.integration.boot.served import (
    FAST,
    PATIENCE,
    Running,
    answered,
    closed_by_server,
    connect,
    events_url,
)

PATIENT = Limits(body_timeout=PATIENCE * 2, head_timeout=PATIENCE * 2)  # waiting would show


def head(method: str, target: str, framing: bytes = b"Content-Length: 60000\r\n") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: strata\r\n".encode() + framing + b"\r\n"


@contextmanager
def slow_bodies(port: int, target: str, sources: list[str]) -> Iterator[list[socket.socket]]:
    """A connection from each of ``sources``: a whole head for ``target`` declaring a
    body of 60,000 bytes, and one byte of it. Closed at the end."""
    socks = []
    try:
        for source in sources:
            sock = connect(port, source)
            socks.append(sock)
            sock.sendall(head("POST", target) + b"{")
        yield socks
    finally:
        for sock in socks:
            sock.close()


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (head("GET", "/boot.ipxe"), b"200"),
        (head("HEAD", "/boot.ipxe"), b"200"),
        (head("GET", "/boot.ipxe", b"Transfer-Encoding: chunked\r\n"), b"200"),
        (head("GET", "/ipxe?mac=52:54:00:10:00:01"), b"200"),
        (head("GET", "/assets/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz"), b"404"),
        (head("POST", "/boot.ipxe"), b"405"),
        (head("POST", "/events/nobody?token=x"), b"404"),
    ],
)
def test_a_route_that_takes_no_body_never_waits_for_one(
    serve: Callable[[Limits], Running], request_head: bytes, status: bytes
) -> None:
    """Its answer comes at once, says ``connection: close``, and the connection closes:
    the rest of the body would be read as the next request."""
    running = serve(PATIENT)
    with connect(running.port) as sock:
        chunked = b"chunked" in request_head
        sock.sendall(request_head + (b"1\r\nx\r\n" if chunked else b"x"))  # and never more
        answer = closed_by_server(sock)  # within PATIENCE, so the service did not wait
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert b"\r\nconnection: close\r\n" in answer.lower()


def test_the_phone_home_reads_a_body_only_with_a_valid_token_and_no_event_in_the_query(
    serve: Callable[[Limits], Running],
) -> None:
    running = serve(PATIENT)
    url = path_of(events_url(running.base))
    forged = TokenSigner(b"not strata's key, but long enough").issue(
        Grant("lab-cp-0", 1, Stage.EVENTS, 2**31)
    )
    for target, status in (
        (f"/events/lab-cp-0?token={forged}", b"403"),
        (f"{url}&event=installed", b"204"),
    ):
        with connect(running.port) as sock:
            sock.sendall(head("POST", target) + b"{")
            answer = closed_by_server(sock)
        assert answer.startswith(b"HTTP/1.1 " + status), (target, answer[:200])
    with connect(running.port) as sock:  # with the token and no event: it waits, and gets it
        sock.settimeout(0.5)
        body = b'{"event": "first-boot"}'
        sock.sendall(head("POST", url, b"Content-Length: %d\r\n" % len(body)) + body[:10])
        with pytest.raises(TimeoutError):
            sock.recv(1)  # no answer before the body is whole
        sock.settimeout(PATIENCE)
        sock.sendall(body[10:])
        assert sock.recv(4096).startswith(b"HTTP/1.1 204 ")
    assert [e.kind for e in running.store.events("lab-cp-0")][-2:] == ["installed", "first-boot"]


def test_a_phone_home_pipelined_behind_a_get_is_answered_when_its_body_comes(
    serve: Callable[[Limits], Running],
) -> None:
    running = serve(PATIENT)
    url = path_of(events_url(running.base))
    body = b'{"event": "first-boot"}'
    with connect(running.port) as sock:
        post = head("POST", url, b"Content-Length: %d\r\n" % len(body))
        sock.sendall(head("GET", "/boot.ipxe", b"") + post + body[:10])
        answer = b""
        while b"chain " not in answer:
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 ")
        sock.sendall(body[10:])
        while b"HTTP/1.1 204 " not in answer:
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
    assert running.store.events("lab-cp-0")[-1].kind == "first-boot"


def test_a_phone_home_body_that_crawls_gets_408(serve: Callable[[Limits], Running]) -> None:
    running = serve(FAST)
    url = path_of(events_url(running.base))
    start = time.monotonic()
    with connect(running.port) as sock:
        sock.settimeout(0.2)
        sock.sendall(head("POST", url, b"Content-Length: 100\r\n"))
        answer = b""
        while time.monotonic() - start < PATIENCE:  # a body byte every 0.2 s
            try:
                sock.sendall(b" ")
                answer = sock.recv(4096)
                break
            except TimeoutError:
                continue
            except OSError:
                break
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - start >= FAST.body_timeout
    assert running.log.tracebacks() == []


def test_at_the_total_bound_slow_bodies_of_the_biggest_holders_make_room(
    serve: Callable[[Limits], Running],
) -> None:
    """60 slow bodies from three addresses against 30 connections: 20 machines, each from
    its own address and keeping its connection, are answered every time, each taking the
    room of a slow body."""
    running = serve(Limits(max_connections=30, body_timeout=PATIENCE * 2))
    url = path_of(events_url(running.base))
    sources = [f"127.0.0.{3 + i % 3}" for i in range(60)]
    with slow_bodies(running.port, url, sources) as hogs, ExitStack() as stack:
        assert len(answered(hogs, 30)) == 30  # the service made room among them
        machines = [
            stack.enter_context(
                httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.1.{i + 1}"))
            )
            for i in range(20)
        ]
        answers = [m.get(f"{running.base}/boot.ipxe").status_code for m in machines]
        closed = answered(hogs, 50)
        told = [closed_by_server(sock) for sock in closed]
    assert answers == [200] * 20
    assert len(closed) == 50  # 30 for each other, 20 for the machines
    too_slow = [t for t in told if b"too slow for a service at its connection limit" in t]
    assert len(too_slow) >= 20 and all(t.startswith(b"HTTP/1.1 408 ") for t in too_slow)
    assert running.log.tracebacks() == []


def test_an_address_at_its_bound_loses_its_own_slowest_bodies(
    serve: Callable[[Limits], Running],
) -> None:
    running = serve(Limits(max_connections_per_client=8, body_timeout=PATIENCE * 2))
    url = path_of(events_url(running.base))
    with slow_bodies(running.port, url, ["127.0.0.2"] * 20) as hogs:
        assert len(answered(hogs, 12)) == 12  # closed for room, or refused with 503
        told = [closed_by_server(sock) for sock in answered(hogs, 12)]
        assert httpx.get(f"{running.base}/boot.ipxe").status_code == 200  # another address
    assert all(t == b"" or t.startswith((b"HTTP/1.1 408 ", b"HTTP/1.1 503 ")) for t in told)
