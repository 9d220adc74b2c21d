"""A DHCP client at the wire: one DHCPDISCOVER as a firmware would send it, and the
first DHCPOFFER, parsed. For asking real dnsmasq what it offers a client architecture.

    python -m tests.support.dhcp_client IFACE MAC ARCH [VENDOR_CLASS]

prints the offer as JSON: ``yiaddr``, ``siaddr``, ``file`` (the BOOTP file field),
``options`` (code -> text or hex), ``boot_file`` (option 67, else the file field). Packet layout: RFC 2131 section 2; options RFC 2132
(53 message type, 55 parameter list, 60 vendor class, 67 boot file), RFC 4578 (93
client architecture, 94 network interface id, 97 machine UUID). Run it where IFACE is
(e.g. under ``ip netns exec``); it binds UDP port 68 on that device only.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import struct
import sys
import time
from typing import Any

COOKIE = b"\x63\x82\x53\x63"
DISCOVER, OFFER = 1, 2


def discover(mac: str, arch: int, vendor_class: str | None) -> tuple[int, bytes]:
    """(transaction id, a DHCPDISCOVER with the broadcast flag set)."""
    xid = secrets.randbits(32)
    chaddr = bytes.fromhex(mac.replace(":", "")).ljust(16, b"\0")
    head = struct.pack("!BBBBIHH4s4s4s4s16s", 1, 1, 6, 0, xid, 0, 0x8000, *(b"\0" * 4,) * 4, chaddr)
    options = [
        (53, bytes([DISCOVER])),
        (55, bytes([1, 3, 6, 43, 60, 66, 67, 93, 94, 97])),
        (93, struct.pack("!H", arch)),
        (94, bytes([1, 3, 16])),  # UNDI 3.16
        (97, b"\0" + secrets.token_bytes(16)),
    ]
    if vendor_class is not None:
        options.append((60, vendor_class.encode()))
    body = b"".join(bytes([code, len(value)]) + value for code, value in options)
    return xid, head + b"\0" * 192 + COOKIE + body + b"\xff"


def parse(packet: bytes) -> dict[str, Any]:
    """The fields of a BOOTP/DHCP reply a boot test cares about."""
    yiaddr, siaddr = socket.inet_ntoa(packet[16:20]), socket.inet_ntoa(packet[20:24])
    file = packet[108:236].split(b"\0", 1)[0].decode()
    options: dict[int, bytes] = {}
    i = 240
    while i < len(packet) and packet[i] != 255:
        if packet[i] == 0:
            i += 1
            continue
        code, length = packet[i], packet[i + 1]
        options[code] = options.get(code, b"") + packet[i + 2 : i + 2 + length]
        i += 2 + length
    texts = {str(c): _text(v) for c, v in sorted(options.items())}
    return {
        "xid": struct.unpack("!I", packet[4:8])[0],
        "yiaddr": yiaddr,
        "siaddr": siaddr,
        "file": file,
        "options": texts,
        # what the firmware boots: option 67 when the server sent it, else the file field
        "boot_file": texts.get("67", file),
    }


def _text(value: bytes) -> str:
    try:
        text = value.rstrip(b"\0").decode()  # dnsmasq ends a boot file name with a NUL
    except UnicodeDecodeError:
        return value.hex()
    return text if text.isprintable() else value.hex()


def ask(
    iface: str, mac: str, arch: int, vendor_class: str | None, timeout: float = 10
) -> dict[str, Any]:
    """Send a DHCPDISCOVER on ``iface`` each second, as firmware retries, until the matching
    DHCPOFFER comes (``TimeoutError`` after ``timeout`` seconds)."""
    xid, packet = discover(mac, arch, vendor_class)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        sock.bind(("0.0.0.0", 68))
        sock.settimeout(1.0)
        while time.monotonic() < deadline:
            sock.sendto(packet, ("255.255.255.255", 67))
            try:
                reply = parse(sock.recv(4096))
            except TimeoutError:
                continue
            if reply["xid"] == xid and reply["options"].get("53") == bytes([OFFER]).hex():
                return reply
    raise TimeoutError(f"no DHCPOFFER on {iface} within {timeout:g} s")


if __name__ == "__main__":
    iface, mac, arch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    vendor = sys.argv[4] if len(sys.argv) > 4 else None
    print(json.dumps(ask(iface, mac, arch, vendor)))
    sys.stdout.flush()
    os._exit(0)
