"""The house's one road (ARCHITECTURE.md): topology -> plan -> run -> reconciler ->
actions -> drivers. Checked on the source, so a shortcut sideways fails here first."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "strata"
MAX_LINES = 400

# package -> packages it must never import (directly, at any depth of its modules)
FORBIDDEN = {
    "controller": {"topology", "cli", "boot"},
    "store": {"boot", "controller", "topology", "cli"},
    "plan": {"controller", "store", "boot", "cli"},
    "boot": {"controller", "cli"},
    "bmc": {"controller", "cli", "boot"},
    "web": {"controller", "cli", "boot", "topology"},  # what it shows comes from the store
}


def imported_packages(path: Path) -> set[str]:
    """The ``strata.X`` packages a module imports, lazily or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(n.split(".")[1] for n in names if n.startswith("strata.") and "." in n)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_reaches_sideways(package: str) -> None:
    wrong = {
        str(path.relative_to(SRC)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((SRC / package).rglob("*.py"))
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_checker_sees_an_import() -> None:
    """The rule above can fail: this very check finds a forbidden import in a module."""
    sample = SRC / "controller" / "workers.py"
    assert "plan" in imported_packages(sample)


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
