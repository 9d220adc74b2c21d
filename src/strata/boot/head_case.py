"""Response heads written with header names in their usual case, for GRUB's sake.

uvicorn writes every header name in lower case, as HTTP allows (RFC 9110, 5.1: field
names are case-insensitive). GRUB's HTTP client (``grub-core/net/http.c``, 2.06 as
Debian ships it) matches ``Content-Length: `` and ``Transfer-Encoding: chunked`` byte
for byte: told ``content-length``, it does not know the size of what it reads, and its
``configfile``, ``linux`` and ``initrd`` get nothing (seen in the lab: GRUB asked for
``/grub`` every 5 s and ran none of it). So each response's head goes out with each
name's words capitalised (``Content-Length``, ``Content-Type``, ``Etag``), which every
other client reads as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CanonicalHeads", "canonical_head"]

_STATUS = b"HTTP/1.1 "
_INTERIM = b"HTTP/1.1 1"  # 100 Continue: a head before the head


def canonical_head(data: bytes) -> bytes:
    """``data`` (a status line, header lines, CRLF CRLF, maybe body bytes) with each
    header name as ``Word-Word``; the status line, values and body untouched."""
    head, end, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    named = []
    for line in lines:
        name, colon, value = line.partition(b":")
        named.append(b"-".join(w.capitalize() for w in name.split(b"-")) + colon + value)
    return b"\r\n".join([status, *named]) + end + rest


class CanonicalHeads:
    """A transport for one request's response: its head (the first write that is not an
    interim ``1xx``) goes out through ``canonical_head``; everything else as it is."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head_sent = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._head_sent and bytes(data[: len(_STATUS)]) == _STATUS:
            data = canonical_head(bytes(data))
            self._head_sent = not data.startswith(_INTERIM)
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
