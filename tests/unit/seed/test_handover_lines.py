"""What the plan says of the seed's own machine, by whether this run pivots."""

from pathlib import Path

from strata.plan import build_plan
from strata.seed.handover import held_line, seed_node_refusal
from strata.topology import load

LAB = Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml"


def test_the_line_names_the_pivot_only_when_this_run_makes_it() -> None:
    pivoting = held_line("lab-seed", "mgmt")
    assert "until the pivot into layer mgmt" in pivoting
    assert "allowReprovision" in pivoting
    skipped = held_line("lab-seed", "mgmt", skipped=True)
    assert "does not pivot into layer mgmt" in skipped
    assert "until the pivot" not in skipped and "allowReprovision" not in skipped
    assert "no layer pivot: true" in held_line("lab-seed", None, skipped=True)


def test_only_the_node_that_makes_a_layer_is_refused_as_the_seeds_machine() -> None:
    plan = build_plan(load(LAB))
    refused = seed_node_refusal(plan, "lab-cp-0")
    assert refused is not None and "first control plane of layer mgmt" in refused
    assert seed_node_refusal(plan, "lab-worker-0") is None


def test_seed_build_refuses_it_before_asking_for_a_passphrase(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from strata.cli.app import cli

    image = tmp_path / "seed.iso"
    args = ["seed", "build", str(LAB), "-o", str(image), "--node", "lab-cp-0"]
    result = CliRunner().invoke(cli, args, input="")
    assert result.exit_code == 2, result.output
    assert "first control plane of layer mgmt" in result.output
    assert "passphrase" not in result.output.lower() and not image.exists()
