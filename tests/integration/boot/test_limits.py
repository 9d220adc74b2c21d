"""The boot service's limits against the real server (uvicorn, httptools, the guard) on
127.0.0.1: bodies, heads, slow and idle clients, connection bounds, forged tokens.

Timeouts are shortened (1 s) so that the tests run fast; what is asserted are
properties (the answer, who was closed, what was written), never how fast.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from strata.boot import Grant, Stage, TokenSigner
from strata.boot.limits import Limits
from strata.boot.tally import WINDOW_SECONDS
from tests.integration.boot.served import (
    FAST,
    PATIENCE,
    Running,
    answered,
    closed_by_server,
    connect,
    events_url,
)


def test_malformed_bodies_get_400_or_413_and_no_traceback(
    serve: Callable[[Limits], Running],
) -> None:
    running = serve(FAST)
    url = events_url(running.base)
    answers = {
        "a list": httpx.post(url, content=b'{"event": ["installed"]}').status_code,
        "deep nesting": httpx.post(url, content=b"[" * 60_000).status_code,
        "not UTF-8": httpx.post(url, content=b'\xff\xfe\xfa{"event": 1}').status_code,
        "not an object": httpx.post(url, content=b'["installed"]').status_code,
        "1 MB declared": httpx.post(url, content=b"x" * (1 << 20)).status_code,
        "1 MB chunked": httpx.post(url, content=iter([b"x" * 65536] * 16)).status_code,
    }
    assert answers == {
        "a list": 400,
        "deep nesting": 400,
        "not UTF-8": 400,
        "not an object": 400,
        "1 MB declared": 413,
        "1 MB chunked": 413,
    }
    assert httpx.post(url, json={"event": "installed"}).status_code == 204
    assert running.log.tracebacks() == []


def test_a_head_over_16_kib_gets_431(serve: Callable[[Limits], Running]) -> None:
    running = serve(FAST)
    with connect(running.port) as sock:
        sock.sendall(b"GET /boot.ipxe HTTP/1.1\r\nHost: strata\r\nX-Big: " + b"a" * 20_000)
        assert closed_by_server(sock).startswith(b"HTTP/1.1 431 ")


def test_an_unterminated_100_mb_header_is_cut_off(serve: Callable[[Limits], Running]) -> None:
    running = serve(FAST)
    sent = 0
    with connect(running.port) as sock:
        sock.sendall(b"GET /boot.ipxe HTTP/1.1\r\nX-Big: ")
        try:
            while sent < 100 << 20:
                sent += sock.send(b"a" * 65536)
        except OSError:  # reset or broken pipe: the server closed it
            pass
    assert sent < 100 << 20
    assert httpx.get(f"{running.base}/boot.ipxe").status_code == 200


def test_a_slow_head_is_closed_however_it_trickles(serve: Callable[[Limits], Running]) -> None:
    running = serve(FAST)
    start = time.monotonic()
    with connect(running.port) as sock:
        sock.settimeout(0.2)
        sock.sendall(b"GET /boot.ipxe HTTP/1.1\r\n")
        answer = b""
        while time.monotonic() - start < PATIENCE:  # a header byte every 0.2 s
            try:
                sock.sendall(b"X")
                answer = sock.recv(4096)
                break
            except TimeoutError:
                continue
            except OSError:
                break
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - start >= FAST.head_timeout


def test_idle_connections_are_closed_new_or_kept_alive(serve: Callable[[Limits], Running]) -> None:
    running = serve(FAST)
    with connect(running.port) as silent:
        assert closed_by_server(silent) == b""  # connected, never asked: closed
    with connect(running.port) as kept:
        kept.sendall(b"GET /boot.ipxe HTTP/1.1\r\nHost: strata\r\n\r\n")
        answer = closed_by_server(kept)  # answered, then closed after the idle timeout
    assert answer.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in answer


def test_one_address_cannot_hold_more_than_its_share(serve: Callable[[Limits], Running]) -> None:
    running = serve(Limits(max_connections_per_client=8, head_timeout=PATIENCE * 2))
    hogs = [connect(running.port, "127.0.0.2") for _ in range(50)]
    try:
        assert httpx.get(f"{running.base}/boot.ipxe").status_code == 200
        assert len(answered(hogs, 42)) == 42  # closed to make room, or refused with 503
    finally:
        for hog in hogs:
            hog.close()


def test_at_the_total_bound_idle_connections_make_room(serve: Callable[[Limits], Running]) -> None:
    running = serve(Limits(max_connections=20, head_timeout=PATIENCE * 2))
    slow = [connect(running.port, f"127.0.0.{3 + i % 10}") for i in range(100)]
    try:
        for sock in slow:
            sock.sendall(b"GET /boot.ipxe HTTP/1.1\r\n")  # and never more
        assert len(answered(slow, 80)) == 80
        ipxe = httpx.get(f"{running.base}/ipxe", params={"mac": "52:54:00:10:00:01"})
        assert "install flatcar" in ipxe.text  # one of the 20 slow ones made room
        assert len(answered(slow, 81)) == 81
    finally:
        for sock in slow:
            sock.close()


def test_10000_forged_tokens_make_a_bounded_number_of_rows(
    serve: Callable[[Limits], Running],
) -> None:
    running = serve(FAST)
    forged = TokenSigner(b"not strata's key, but long enough").issue(
        Grant("lab-cp-0", 1, Stage.LIVE, 2**31)
    )
    start = time.monotonic()
    with httpx.Client(base_url=running.base) as client:
        for _ in range(10_000):
            assert client.get(f"/ignition/lab-cp-0?token={forged}").status_code == 403
    windows = int((time.monotonic() - start) // WINDOW_SECONDS) + 1
    running.stop()  # the server closes its open windows as it stops
    rows = running.store.events("lab-cp-0")
    assert len(rows) <= 2 * windows
    first = [e for e in rows if e.kind == "token-rejected"]
    summaries = [e for e in rows if e.kind == "repeated"]
    assert len(first) + sum(e.detail["repeats"] for e in summaries) == 10_000
    assert {e.detail["source"] for e in first} == {"127.0.0.1"}
    assert all(e.detail["sources"] == {"127.0.0.1": e.detail["repeats"]} for e in summaries)


@pytest.mark.parametrize(
    ("soft", "hard", "says"),
    [
        (1024, 4096, "soft limit raised from 1024 to 4096 (hard 4096); up to 1344 connections"),
        (
            1024,
            1024,
            "soft limit kept at 1024 (hard 1024); up to 320 connections, a backlog of 320",
        ),
    ],
)
def test_the_open_file_limit_is_raised_toward_the_hard_limit(
    soft: int, hard: int, says: str
) -> None:
    if hard > resource.getrlimit(resource.RLIMIT_NOFILE)[1]:
        pytest.skip(f"this process may not give a child a hard limit of {hard}")
    code = (
        "import resource; from strata.boot.server import raise_open_file_limit as r; "
        "print(r().describe()); print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),
    )
    described, got = result.stdout.splitlines()
    assert says in described
    assert int(got) == hard
