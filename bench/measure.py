"""What the benchmarks measure with: process CPU time and free ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc/PID/stat (proc(5), fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
