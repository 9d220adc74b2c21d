"""`strata controller --timeout PHASE=SECONDS` (and ``STRATA_TIMEOUT``): read as `strata
apply` reads it, a bad value refused before anything is contacted."""

from __future__ import annotations

from click.testing import CliRunner

from strata.cli.app import cli
from strata.cli.apply import parse_timeouts


def test_timeouts_are_read_as_apply_reads_them() -> None:
    timeouts = parse_timeouts(("joining=90", "booting=900"))
    assert (timeouts.joining, timeouts.booting, timeouts.installing) == (90.0, 900.0, 3600.0)


def test_a_bad_timeout_is_refused_before_the_api_server_is_asked() -> None:
    unreachable = ["--kubeconfig", "/nonexistent/kubeconfig", "--namespace", "x"]
    for value, said in (
        ("joining", "joining: give PHASE=SECONDS"),
        ("nosuch=5", "no phase named nosuch"),
    ):
        result = CliRunner().invoke(cli, ["controller", *unreachable, "--timeout", value])
        assert result.exit_code == 2, result.output
        assert said in result.output
    runner = CliRunner(env={"STRATA_TIMEOUT": "joining=5 nosuch=1"})  # split on spaces
    result = runner.invoke(cli, ["controller", *unreachable])
    assert result.exit_code == 2 and "no phase named nosuch" in result.output
