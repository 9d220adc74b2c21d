"""What a topology says is shown as written, never read as Rich markup: a bracketed
IPv6 BMC host (``[fd00::5]``) is a host, not a style."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from strata.cli.app import cli

ROOT = Path(__file__).resolve().parents[3]


def test_a_bracketed_ipv6_bmc_host_shows_in_the_plan(tmp_path: Path) -> None:
    text = (ROOT / "examples/lab/topology.yaml").read_text()
    address = "redfish://[fd00::5]/redfish/v1/Systems/lab-worker-1"
    file = tmp_path / "topology.yaml"
    file.write_text(
        text.replace("redfish://192.168.100.13/redfish/v1/Systems/lab-worker-1", f'"{address}"')
    )
    env = {"COLUMNS": "300", "STRATA_LAB_BMC_PASSWORD": "x"}
    result = CliRunner().invoke(cli, ["plan", "-f", str(file)], env=env)
    assert result.exit_code == 0, result.output
    assert address in result.output
