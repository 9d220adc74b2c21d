"""One watch request's answer, read as it streams, with as few wake-ups as the news
allows: what ``strata.kube.watch`` follows each layer's Nodes with.

Why not lightkube's watch (the list and the writes still go through lightkube): an event
read through httpx, httpcore and h11 cost about 100 µs of CPU, and most of it was the
wake-up of a thread blocked on its socket for every event (an API server writes each
event as it happens: one TLS record each). Here the thread wakes at an event, waits
``pause`` seconds for more, then reads every record already there without blocking:
about 11 µs per event where they trickle in one by one (bench/lifecycle_scale.py's
simulated API), against 93 µs through lightkube. News is late by at most ``pause``.

The wire, as "Efficient detection of changes" in the Kubernetes API concepts
(https://kubernetes.io/docs/reference/using-api/api-concepts/) describes it: a GET with
``watch=true&resourceVersion=N``, answered 200 with one JSON object a line,
``{"type": "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR", "object": ...}``,
in an HTTP/1.1 body (RFC 9112) of chunked transfer coding (section 7.1) or delimited by
the connection's close; any other status is an error whose body is a Status object.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

__all__ = ["WatchError", "WatchStream"]

_READ = 65536  # at most one TLS record (16 KiB) comes back from a read anyway
_MAX_HEAD = 65536  # status line and headers


class WatchError(Exception):
    """The API answered with an error: ``code`` is the HTTP status, or the Status
    object's code in an ``ERROR`` event (410: the version is gone, list again)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else str(code))
        self.code = code


class WatchStream:
    """A GET of ``path`` (path and query) on ``server`` (``https://host:port``) over TLS
    with ``context``; connecting and the answer's head wait at most ``timeout`` seconds,
    the stream as long as it lasts. Raises ``WatchError`` (an error status), ``OSError``
    and ``ssl.SSLError`` (no connection). ``close`` may be called from any thread: a read
    blocked on the stream returns."""

    def __init__(
        self, server: str, path: str, context: ssl.SSLContext, timeout: float = 10.0
    ) -> None:
        url = urlsplit(server)
        host = url.hostname or ""
        raw = socket.create_connection((host, url.port or 443), timeout=timeout)
        try:
            self._sock = context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        try:
            request = f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: application/json\r\n"
            self._sock.sendall(f"{request}User-Agent: strata\r\n\r\n".encode())
            status, headers, start = self._head()
            self._body = _Body(headers)
            self._rest = b""
            if status != 200:
                raise WatchError(status, _status_message(self._read_all(start)))
            self._first = start
            self._sock.settimeout(None)
        except BaseException:
            self._sock.close()
            raise

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def close(self) -> None:
        """Ends the stream from another thread (its reader sees the end)."""
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def batches(self, pause: float, stopping: threading.Event) -> Iterator[list[dict[str, Any]]]:
        """The events, a list of them at each wake-up, until the stream ends (or
        ``stopping`` is set while it pauses)."""
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        pending, self._first, ended = [self._first], b"", False
        while True:
            if not pending[0]:  # nothing read yet: wait for it, then a little more
                pending[0] = self._sock.recv(_READ)
                ended = not pending[0]
                if not ended and pause > 0 and stopping.wait(pause):
                    return
            while not ended and (self._sock.pending() or poller.poll(0)):
                data = self._sock.recv(_READ)
                ended = not data
                pending.append(data)
            events = self._events(b"".join(pending))
            pending = [b""]
            if events:
                yield events
            if ended or self._body.done:
                return

    def _events(self, data: bytes) -> list[dict[str, Any]]:
        *lines, self._rest = (self._rest + self._body.decode(data)).split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def _head(self) -> tuple[int, dict[str, str], bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            more = self._sock.recv(_READ)
            if not more or len(data) > _MAX_HEAD:
                raise ConnectionError("the API closed the connection before its answer's head")
            data += more
        head, start = data.split(b"\r\n\r\n", 1)
        status_line, *fields = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ConnectionError(f"not an HTTP answer: {status_line[:80]!r}")
        headers = {}
        for field in fields:
            name, _, value = field.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers, start

    def _read_all(self, start: bytes) -> bytes:
        """An error answer's body (bounded)."""
        body, data = [self._body.decode(start)], start
        while data and not self._body.done and sum(map(len, body)) < _MAX_HEAD:
            data = self._sock.recv(_READ)
            body.append(self._body.decode(data))
        return b"".join(body)


class _Body:
    """An HTTP/1.1 body's framing: chunked (RFC 9112 section 7.1), a Content-Length, or
    up to the connection's close. ``decode`` takes the bytes read, returns the body's."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._length = int(length) if length and not self.chunked else None
        self.done = self._length == 0
        self._raw = b""
        self._left = 0  # of the current chunk's data
        self._skip = 0  # of the CRLF after a chunk's data

    def decode(self, data: bytes) -> bytes:
        if self._length is not None:
            data = data[: self._length]
            self._length -= len(data)
            self.done = self._length == 0
            return data
        return self._dechunk(data) if self.chunked else data

    def _dechunk(self, data: bytes) -> bytes:
        buf, pos, out = self._raw + data, 0, []
        while not self.done:
            if self._left:
                piece = buf[pos : pos + self._left]
                out.append(piece)
                pos += len(piece)
                self._left -= len(piece)
                if self._left:
                    break
                self._skip = 2
            if self._skip:
                taken = min(self._skip, len(buf) - pos)
                pos, self._skip = pos + taken, self._skip - taken
                if self._skip:
                    break
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(buf[pos:end].split(b";", 1)[0].strip() or b"0", 16)
            pos = end + 2
            self._left, self.done = size, size == 0
        self._raw = buf[pos:]
        return b"".join(out)


def _status_message(body: bytes) -> str:
    """A Status object's message, or the start of whatever the body was."""
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    return str(status.get("message") or status.get("reason") or "")[:300]
