"""One error root, one boundary: every StrataError ends a command as one line and a hint
with its documented exit code, never a traceback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import strata
from strata.cli.app import cli, refusal
from strata.errors import StrataError
from strata.store import SQLiteStore
from strata.store.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parents[3]
REFUSED_BEFORE_WORK = {"state-file", "writer-busy", "boot-url"}  # exit 2: nothing was done


def every_error_class() -> list[type[StrataError]]:
    for module in pkgutil.walk_packages(strata.__path__, "strata."):
        importlib.import_module(module.name)
    found, todo = [], [StrataError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__module__ + c.__qualname__)


def instance(cls: type[StrataError]) -> StrataError:
    """An instance with plausible arguments, whatever the constructor asks for."""
    values = {"node": "n1", "address": "redfish://10.0.0.1", "message": "it failed", "hint": "do x"}
    values |= {"path": Path("s.db"), "problem": "is empty", "problems": ["n1: failed"]}
    values |= {"name": "n1", "expected": 1, "actual": 2, "holder": "apply (pid 1)", "expires": 0.0}
    values |= {"diagnostics": (), "verb": "PUT", "status": 409, "reason": "Conflict"}
    values |= {"holders": ["pid 1 (strata), stopped"], "topology": "lab", "known": ("mgmt",)}
    values |= {"what": "servers/lab.n1"}
    params = inspect.signature(cls.__init__).parameters
    wanted = [p for p in params.values() if p.name != "self" and p.kind is not p.VAR_KEYWORD]
    if [p.kind for p in wanted] == [inspect.Parameter.VAR_POSITIONAL]:
        return cls("it failed")
    return cls(**{p.name: values[p.name] for p in wanted if p.default is p.empty})


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__qualname__)
def test_every_error_class_ends_a_command_as_one_line_and_its_exit_code(
    cls: type[StrataError],
) -> None:
    error = instance(cls)
    refused = refusal(error)
    assert refused is not None
    assert "\n" not in refused.message and refused.message
    assert refused.exit_code == (2 if error.kind in REFUSED_BEFORE_WORK else error.exit_code)
    assert refused.exit_code in (1, 2)
    assert set(error.as_json()) >= {"kind", "message", "hint"}


def test_anything_else_is_a_bug_and_keeps_its_traceback() -> None:
    assert refusal(KeyError("x")) is None


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    file = tmp_path / "topology.yaml"
    file.write_text((ROOT / "examples/lab/topology.yaml").read_text())
    SQLiteStore(tmp_path / ".strata" / "strata.db").close()
    return file


def test_a_state_file_from_a_newer_strata(lab: Path) -> None:
    db = sqlite3.connect(lab.parent / ".strata" / "strata.db")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (len(MIGRATIONS) + 1,))
    db.commit()
    db.close()
    for command in ("status", "plan", "apply"):
        code, out = run(command, "-f", str(lab))
        assert code == 2 and f"knows up to {len(MIGRATIONS)}" in out and "hint: " in out, out


def test_a_state_file_damaged_inside(lab: Path) -> None:
    path = lab.parent / ".strata" / "strata.db"
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * (len(data) - 100))  # a header, then garbage
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    code, out = run("status", "-f", str(lab))
    assert code == 2 and out.startswith("error: ") and "state file" in out


def test_a_lease_held_by_another_controller(lab: Path) -> None:
    SQLiteStore(lab.parent / ".strata" / "strata.db").acquire_writer(
        "strata apply (pid 7 on b)", 60
    )
    code, out = run("apply", "-f", str(lab), "--no-serve")
    assert code == 2 and "strata apply (pid 7 on b) is driving this datacenter" in out
    assert "hint: wait for it to finish" in out


def test_a_refused_request(lab: Path) -> None:
    code, out = run("adopt", "ghost", "-f", str(lab))
    assert code == 1 and out == "error: ghost: no such node\n"


def test_an_artifact_import_without_digests(lab: Path, tmp_path: Path) -> None:
    source = tmp_path / "download"
    source.mkdir()
    (source / "flatcar_production_pxe.vmlinuz").write_bytes(b"k")
    code, out = run(
        "artifacts", "import", str(source), "--os", "flatcar", "--version", "1", "-f", str(lab)
    )
    assert code == 1 and "no SHA-256 or SHA-512 digest" in out


def test_control_characters_in_an_error_reach_no_terminal() -> None:
    refused = refusal(StrataError("name\x1b[2J\nerror: forged line"))
    assert refused is not None and "\x1b" not in refused.message and "\n" not in refused.message
