"""What the plan says of the seed's own machine, by whether this run pivots."""

from strata.seed.handover import held_line


def test_the_line_names_the_pivot_only_when_this_run_makes_it() -> None:
    pivoting = held_line("lab-seed", "mgmt")
    assert "until the pivot into layer mgmt" in pivoting
    assert "allowReprovision" in pivoting
    skipped = held_line("lab-seed", "mgmt", skipped=True)
    assert "does not pivot into layer mgmt" in skipped
    assert "until the pivot" not in skipped and "allowReprovision" not in skipped
    assert "no layer pivot: true" in held_line("lab-seed", None, skipped=True)
