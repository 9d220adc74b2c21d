"""The `strata` command: exit codes, human and machine output, no secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import yaml
from click.testing import CliRunner
from ruamel.yaml import YAML

from strata.cli.app import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[3]
LAB = str(ROOT / "examples/lab/topology.yaml")
FIVE = str(ROOT / "tests/unit/topology/files/five-mistakes.yaml")
# examples/lab/.strata/strata.db exists after `./dev demo`: plans here are against no state
NO_STATE = ("--state", "/nonexistent/strata.db")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_validate_valid_file() -> None:
    code, out = run("validate", "-f", LAB)
    assert code == 0
    assert "valid — 1 region, 1 zone, 1 rack, 3 nodes; layers: mgmt" in out


def test_validate_reports_every_error_with_its_place() -> None:
    code, out = run("validate", "-f", FIVE)
    assert code == 1
    assert out.count(": error: ") == 5
    assert (
        "five-mistakes.yaml:62:17: error: regions[0].zones[0].racks[0].nodes[1].rol: unknown key 'rol'"
        in out
    )
    assert "5 error(s), 0 warning(s)" in out


def test_validate_json() -> None:
    code, out = run("validate", "--output", "json", "-f", FIVE)
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert len(report["errors"]) == 5
    assert {"file", "line", "column", "path", "message", "hint", "severity"} <= set(
        report["errors"][0]
    )


def test_validate_json_of_a_valid_file() -> None:
    code, out = run("validate", "-o", "json", "-f", LAB)
    assert code == 0
    assert json.loads(out)["summary"]["nodes"] == 3


def test_plan_table() -> None:
    code, out = run("plan", "-f", LAB, *NO_STATE)
    assert code == 0
    assert "lab-worker-1" in out
    assert "Plan: 3 to create." in out


def test_plan_json_and_yaml_agree() -> None:
    code, as_json = run("plan", "-o", "json", "-f", LAB, *NO_STATE)
    assert code == 0
    code, as_yaml = run("plan", "-o", "yaml", "-f", LAB, *NO_STATE)
    assert code == 0
    assert json.loads(as_json) == YAML(typ="safe", pure=True).load(as_yaml)  # YAML 1.2
    # A YAML 1.1 reader (PyYAML) reads the MACs as strings, not base-60 integers.
    assert json.loads(as_json) == yaml.safe_load(as_yaml)
    assert "'52:54:00:10:00:01'" in as_yaml


def test_plan_of_an_invalid_file_fails_without_a_plan() -> None:
    result = CliRunner().invoke(cli, ["plan", "-f", FIVE])
    assert result.exit_code == 1
    assert "Plan:" not in result.output


def test_missing_file_is_a_usage_error() -> None:
    code, out = run("validate", "-f", "/nonexistent/topology.yaml")
    assert code == 2
    assert "does not exist" in out


def test_schema_is_json() -> None:
    code, out = run("schema")
    assert code == 0
    assert json.loads(out)["title"].startswith("Strata topology")


def test_a_literal_password_never_reaches_the_output(tmp_path: Path) -> None:
    text = (
        Path(LAB)
        .read_text()
        .replace("password: {env: STRATA_LAB_BMC_PASSWORD}", "password: Tr0ub4dor&3-literal")
    )
    text = text.replace(
        "redfish://192.168.100.12/", "redfish://admin:An0ther-literal@192.168.100.12/"
    )
    bad = tmp_path / "topology.yaml"
    bad.write_text(text)
    for output in ("text", "json"):
        code, out = run("validate", "-o", output, "-f", str(bad))
        assert code == 1
        assert "Tr0ub4dor" not in out and "An0ther-literal" not in out
        assert "must not be written" in out and "user name or password" in out
    code, out = run("plan", "-f", str(bad))
    assert "Tr0ub4dor" not in out and "An0ther-literal" not in out


def test_plan_table_fits_a_narrow_terminal() -> None:
    result = CliRunner().invoke(cli, ["plan", "-f", LAB, *NO_STATE], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "lab-worker-1" in result.output and "192.168.110.13" in result.output
    assert "not shown: " in result.output


def test_a_password_in_a_bare_bmc_address_is_not_echoed(tmp_path: Path) -> None:
    text = (
        Path(LAB)
        .read_text()
        .replace(
            "redfish://192.168.100.12/redfish/v1/Systems/lab-worker-0",
            "root:Calvin-literal@192.168.100.12",
        )
    )
    bad = tmp_path / "topology.yaml"
    bad.write_text(text)
    code, out = run("validate", "-f", str(bad))
    assert code == 1
    assert "Calvin-literal" not in out
    assert "user name or password" in out


def test_the_lazy_command_table_gives_each_command_the_start_of_its_own_help() -> None:
    ctx = click.Context(cli)
    for name, (_, text) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name and command.help
        assert " ".join(command.help.split()).startswith(text.rstrip("…")), name


def test_version_and_help_import_no_command() -> None:
    """`strata --version` and `--help` load none of the commands' libraries (the figure is
    bench/cli_startup.py's)."""
    code = (
        "import sys; from strata.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'sushy', 'pyghmi', 'uvicorn', 'rich', 'pydantic', 'strata.topology'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    for flag in ("--version", "--help"):
        out = subprocess.run(
            [sys.executable, "-c", code, flag], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip().splitlines()[-1] == "[]", (flag, out)


def test_the_topology_is_minus_f_everywhere_and_the_old_spelling_still_works() -> None:
    """kubectl's and clusterctl's convention: -f/--file; a positional FILE is taken with a
    note on stderr, so scripts written for earlier Strata keep working."""
    runner = CliRunner()
    new = runner.invoke(cli, ["validate", "-f", LAB])
    old = runner.invoke(cli, ["validate", LAB])
    assert new.exit_code == old.exit_code == 0
    assert "deprecated" not in new.output
    assert "validate FILE` is deprecated: say `" in old.stderr and "validate -f FILE`" in old.stderr
    assert old.stdout == new.stdout
    commands = ("validate", "plan", "apply", "serve", "status", "events", "retry", "adopt")
    for command in (*commands, "maintenance on", "maintenance off"):
        help_text = runner.invoke(cli, [*command.split(), "--help"]).output
        assert "-f, --file FILE" in help_text, command


def test_verbose_goes_before_or_after_the_command() -> None:
    runner = CliRunner()
    for args in (
        ["-v", "validate", "-f", LAB],
        ["validate", "-f", LAB, "-v"],
        ["validate", "-vv", "-f", LAB],
    ):
        assert runner.invoke(cli, args).exit_code == 0, args
    assert "-v, --verbose" in runner.invoke(cli, ["apply", "--help"]).output
