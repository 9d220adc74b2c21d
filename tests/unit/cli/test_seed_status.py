"""The seed's status server (`strata.cli.seed_status`) over a damaged state file: a real
server on a real port, read over HTTP, with the state file empty (created, schema not
yet written) or garbage. It answers 503 with the located error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strata.cli.seed_status import SeedPhase, StatusServer, status_app
from tests.support.boot_server import free_port
from tests.support.http_get import get


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "is empty (0 bytes)"), (b"garbage" * 100, "is not a SQLite database")],
)
def test_a_damaged_state_file_answers_503_with_where_and_what_and_no_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    topology = tmp_path / "topology.yaml"
    topology.write_text("nodes: []\n")
    state = tmp_path / "strata.db"
    state.write_bytes(content)
    port = free_port()
    server = StatusServer(status_app(SeedPhase("t", "0" * 64), topology, state), "127.0.0.1", port)
    server.start()
    try:
        code, text = get(f"http://127.0.0.1:{port}/status")
        assert code == 503, text
        assert text.startswith("strata seed: topology t, starting\n")
        assert f"state-file: state file {state}: {problem}" in text and "\nhint: " in text
        code, body = get(f"http://127.0.0.1:{port}/status.json")
        answer = json.loads(body)
        assert code == 503 and answer["status"] is None and answer["seed"]["topology"] == "t"
        assert answer["error"]["kind"] == "state-file"
        assert answer["error"]["message"].startswith(f"state file {state}: {problem}")
    finally:
        server.server.should_exit = True
    assert "Traceback" not in capfd.readouterr().err
    assert state.read_bytes() == content  # read only: nothing changed
