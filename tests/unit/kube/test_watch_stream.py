"""The watch's stream reader (strata.kube.watch_stream): an HTTP/1.1 body's framing
(RFC 9112: chunked transfer coding, Content-Length, up to the close) decoded the same
however the bytes arrive, split anywhere; an error answer's Status message. Against an
API on the wire: tests/integration/kube/test_node_watch.py (the real kube-apiserver's
chunked watch, and bench's simulated one, delimited by its close)."""

from __future__ import annotations

import json
import random

from strata.kube.watch_stream import _Body, _status_message

LINES = b"".join(
    json.dumps({"type": "ADDED", "object": {"metadata": {"name": f"n{i}"}}}).encode() + b"\n"
    for i in range(20)
)


def chunked(payload: bytes, sizes: list[int]) -> bytes:
    out, pos = [], 0
    for size in sizes:
        piece = payload[pos : pos + size]
        pos += len(piece)
        out.append(f"{len(piece):x}".encode() + (b";ext=1" if size % 3 == 0 else b"") + b"\r\n")
        out.append(piece + b"\r\n")
    return b"".join(out) + b"0\r\n\r\n"


def fed(body: _Body, wire: bytes, cuts: list[int]) -> bytes:
    out, last = [], 0
    for cut in [*sorted(cuts), len(wire)]:
        out.append(body.decode(wire[last:cut]))
        last = cut
    return b"".join(out)


def test_a_chunked_body_split_anywhere_decodes_to_the_same() -> None:
    rng = random.Random(7)
    for _ in range(300):
        sizes = [rng.randint(1, 200) for _ in range(len(LINES) // 50 + 2)]
        wire = chunked(LINES, sizes)
        cuts = [rng.randint(0, len(wire)) for _ in range(rng.randint(0, 12))]
        body = _Body({"transfer-encoding": "chunked"})
        assert fed(body, wire, cuts) == LINES[: sum(sizes)]
        assert body.done


def test_every_single_cut_of_a_short_chunked_body() -> None:
    wire = chunked(b'{"a":1}\n{"b":2}\n', [3, 10, 3])
    for cut in range(len(wire) + 1):
        body = _Body({"transfer-encoding": "chunked"})
        assert fed(body, wire, [cut]) == b'{"a":1}\n{"b":2}\n'
        assert body.done


def test_a_body_of_a_length_and_one_up_to_the_close() -> None:
    body = _Body({"content-length": "5"})
    assert fed(body, b"hello, and what follows", [2]) == b"hello"
    assert body.done
    body = _Body({})
    assert fed(body, LINES, [10, 400]) == LINES
    assert not body.done  # it ends when the connection closes


def test_an_error_answer_says_its_status_message() -> None:
    status = {"kind": "Status", "code": 410, "message": "too old resource version: 5 (9)"}
    assert _status_message(json.dumps(status).encode()) == "too old resource version: 5 (9)"
    assert _status_message(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
