"""docs/boot.md states the boot service's limits as the code has them."""

from __future__ import annotations

import re
from pathlib import Path

from strata.boot.limits import DEFAULT_LIMITS as L
from strata.boot.tally import MAX_NAMED_SOURCES, MAX_TRACKED, MAX_TRACKED_PER_SOURCE

DOC = Path(__file__).resolve().parents[3] / "docs" / "boot.md"


def limits_table() -> dict[str, str]:
    section = DOC.read_text().split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \|", section, re.MULTILINE)
    return {name.strip(): value.strip() for name, value in rows}


def test_the_documented_limits_are_the_code_s() -> None:
    table = limits_table()
    expected = {
        "a request head (request line and headers)": f"{L.max_head_bytes // 1024} KiB",
        "time for a request head": f"{L.head_timeout:g} s",
        "an idle kept-alive connection": f"{L.keep_alive_timeout} s",
        "a request body": f"{L.max_body_bytes // 1024} KiB",
        "time for a request body": f"{L.body_timeout:g} s",
        "a client that reads nothing": f"{L.send_timeout:g} s",
        "connections from one address (IPv6: one /64)": f"{L.max_connections_per_client}",
        "connections in all": f"{L.max_connections:,}",
        "listen backlog": f"the connection bound, at most {L.max_backlog:,}",
    }
    for name, value in expected.items():
        assert table[name].startswith(value), (name, table[name])
    assert f"{L.connection_budget(1024)} at 1,024" in table["connections in all"]
    assert (
        f"(soft limit - {L.fd_reserve}) / {L.fds_per_connection + 1}" in table["connections in all"]
    )


def test_the_documented_open_file_and_tally_figures_are_the_code_s() -> None:
    text = " ".join(DOC.read_text().split())
    assert f"as far as {L.open_files_wanted():,}" in text
    assert f"tracked {MAX_TRACKED} at a time, {MAX_TRACKED_PER_SOURCE} per address" in text
    assert MAX_NAMED_SOURCES == 8 and "(eight named" in text
