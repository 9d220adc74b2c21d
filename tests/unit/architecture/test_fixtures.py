"""A fixture wider than one test (module, package, session) is imported from a conftest
by no module: pytest registers an imported fixture again in the importing module, so
each import starts one more instance — for the control-plane fixtures one more
kube-apiserver, etcd and controller manager, alive to the end of the session when the
fixture is the session's. A conftest's fixtures reach its directory's tests without an
import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _wide_fixtures(conftest: Path) -> set[str]:
    """The fixtures ``conftest`` defines with a scope wider than a test's."""
    names: set[str] = set()
    for node in ast.parse(conftest.read_text(), str(conftest)).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call) or "fixture" not in ast.unparse(decorator):
                continue
            scope = next((k.value for k in decorator.keywords if k.arg == "scope"), None)
            if isinstance(scope, ast.Constant) and scope.value != "function":
                names.add(node.name)
    return names


def imported_wide_fixtures(root: Path = ROOT) -> list[str]:
    """``module: name`` for each wide fixture a module under ``root/tests`` imports from
    a conftest."""
    found = []
    for path in sorted((root / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").endswith("conftest"):
                continue
            conftest = root / (str(node.module).replace(".", "/") + ".py")
            wide = _wide_fixtures(conftest)
            found += [f"{path.relative_to(root)}: {a.name}" for a in node.names if a.name in wide]
    return found


def test_no_module_imports_a_fixture_wider_than_a_test() -> None:
    assert imported_wide_fixtures() == []


def test_the_check_finds_such_an_import(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "kube"
    package.mkdir(parents=True)
    (package / "conftest.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture(scope='package')\ndef plane(): ...\n\n"
        "@pytest.fixture\ndef namespace(): ...\n"
    )
    (package / "test_a.py").write_text("from tests.kube.conftest import namespace, plane\n")
    assert imported_wide_fixtures(tmp_path) == ["tests/kube/test_a.py: plane"]
