"""HOST:PORT options (`strata.cli.serve.listen_address`, for apply's and the controller's
--listen, the controller's --health-addr and the seed's --status-listen): IPv6 in
brackets, ports 1-65535, errors naming the option; and `strata seed start` checking
--status-listen before it does anything, --dry-run included."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from strata.cli.serve import listen_address

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


@pytest.mark.parametrize(
    ("given", "host", "port"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080),
        (":8080", "0.0.0.0", 8080),
        ("[::1]:18095", "::1", 18095),
        ("[fd00::2]:1", "fd00::2", 1),
        ("host.example:65535", "host.example", 65535),
    ],
)
def test_a_listen_address_is_a_host_without_brackets_and_a_port(
    given: str, host: str, port: int
) -> None:
    assert listen_address(given) == (host, port)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("127.0.0.1:99999", "the port must be 1-65535, not 99999"),
        ("127.0.0.1:0", "the port must be 1-65535, not 0"),
        ("garbage", "give HOST:PORT"),
        ("127.0.0.1:", "give HOST:PORT"),
        ("[::1:8080", "in brackets"),
        ("[]:8080", "no address in the brackets"),
        (":\u00b2", "give HOST:PORT"),  # a digit to str.isdigit, not a port
        ("fe80::1", "an IPv6 address goes in brackets"),
        ("[::1]", "give [ADDRESS]:PORT"),
    ],
)
def test_a_bad_listen_address_is_refused_naming_the_option(given: str, why: str) -> None:
    with pytest.raises(click.BadParameter) as refused:
        listen_address(given, "--status-listen")
    assert refused.value.param_hint == "--status-listen"
    assert why in refused.value.format_message()


@pytest.mark.parametrize("listen", ["garbage", "127.0.0.1:99999", "[::1:80"])
def test_seed_start_refuses_a_bad_status_listen_before_doing_anything(
    tmp_path: Path, listen: str
) -> None:
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        ["seed", "start", "--dry-run", "--medium", str(tmp_path), "--run-dir", str(run_dir),
         "--status-listen", listen],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--status-listen" in result.output and listen in result.output
    assert "strata seed: starting" not in result.output and not run_dir.exists()


def test_apply_refuses_a_port_out_of_range_naming_listen_and_makes_no_state(
    tmp_path: Path,
) -> None:
    state = tmp_path / "strata.db"
    result = CliRunner().invoke(
        cli, ["apply", "-f", str(LAB), "--state", str(state), "--listen", "0.0.0.0:70000"]
    )
    assert result.exit_code == 2, result.output
    assert "--listen" in result.output and "1-65535" in result.output
    assert not state.exists()
