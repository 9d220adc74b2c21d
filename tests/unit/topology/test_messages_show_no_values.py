"""No message about a file quotes what the file holds: a parser's fault is its kind and
place (line, column, a key's name at most), and nothing reaches the terminal raw.

The security review's case: a YAML fragment with ``passwordHash`` twice came back as
``found duplicate key "passwordHash" with value "$6$OTHERSECRET" (original value:
"$6$SECRETHASHVALUE")``. Every parser path is driven here with a secret planted where
the parser would quote it, through real files in tmp_path.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError, field_validator

from strata.cli.app import cli
from strata.ignition import fragment_problems
from strata.topology import Checked, check_file, check_text
from strata.topology.diagnostics import printable
from strata.topology.file_contents import parse_fragment
from strata.topology.named_files import ALLOWED_DIRS_ENV, NamedFileError
from strata.topology.schema_errors import schema_findings
from tests.unit.topology.named import line_of, write_topology

SECRET = "$6$SECRETHASHVALUE"
OTHER = "$6$OTHERSECRET"


@pytest.fixture(autouse=True)
def _no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)


def fragment_error(tmp_path: Path, name: str, text: str) -> str:
    """The one finding about fragment ``name`` holding ``text``, rendered."""
    (tmp_path / "dc").mkdir(exist_ok=True)
    (tmp_path / "dc" / name).write_text(text)
    checked = check_file(write_topology(tmp_path / "dc", fragment_file=name), fragment_problems)
    assert checked.topology is None
    (error,) = checked.errors
    return error.render()


def test_a_duplicate_key_shows_its_name_and_place_not_its_values(tmp_path: Path) -> None:
    text = (
        "passwd:\n  users:\n    - name: core\n"
        f'      passwordHash: "{SECRET}"\n      passwordHash: "{OTHER}"\n'
    )
    rendered = fragment_error(tmp_path, "users.yaml", text)
    assert "users.yaml:5:7: YAML syntax: the key 'passwordHash' is written twice" in rendered
    assert SECRET not in rendered and OTHER not in rendered and "$6$" not in rendered


YAML_FAULTS = [
    # (what, fragment text with the secret where ruamel would quote it, line:column)
    ("undefined alias", f"storage: *{SECRET[3:]}\n", "1:10", "an alias to no anchor"),
    ("unknown escape", f'a: "{SECRET[3:]}\\q"\n', "1:21", "an unknown escape sequence"),
    ("bad timestamp", f"a: !!timestamp 2020-{SECRET[3:]}\n", "1:4", "not a valid timestamp"),
    ("bad base64", f"a: !!binary {SECRET[3:]}\n", "1:4", "not valid base64"),
    ("a character no token starts", f"a: @{SECRET[3:]}\n", "1:4", "cannot start any token"),
    ("duplicate set member", "a: !!set {core, core}\n", "1:17", "the key 'core' is written twice"),
    ("duplicate flow key", f"{{a: {SECRET[3:]}, a: 2}}\n", "1:22", "the key 'a' is written twice"),
    ("control character", f"a: {SECRET[3:]}\x07\n", "1:19", "a control character"),
    ("second document", f"a: 1\n---\nb: {SECRET[3:]}\n", "2:1", "a second document"),
    ("unclosed flow", f"a: [{SECRET[3:]}, b\nc: d\n", "2:2", "expected ',' or ']'"),
]


@pytest.mark.parametrize(
    ("text", "where", "phrase"), [c[1:] for c in YAML_FAULTS], ids=[c[0] for c in YAML_FAULTS]
)
def test_every_yaml_fault_is_its_kind_and_place(
    tmp_path: Path, text: str, where: str, phrase: str
) -> None:
    rendered = fragment_error(tmp_path, "extra.yaml", text)
    assert f"extra.yaml:{where}" in rendered and phrase in rendered
    assert SECRET[3:] not in rendered


JSON_FAULTS = [
    ("bad escape", f'{{"a": "{SECRET}\\q"}}', "1:26: not JSON: an invalid escape sequence"),
    ("control character", f'{{"a": "{SECRET}\x07"}}', "1:26: not JSON: a control character"),
    ("unterminated", f'{{"a": "{SECRET}', "1:7: not JSON: a string that does not end"),
    ("NaN", f'{{"a": NaN, "b": "{SECRET}"}}', "1:1: not JSON: a value Strata does not read"),
    ("a huge number", '{"a": ' + "7" * 5000 + "}", "1:1: not JSON: a value Strata does not read"),
    ("extra data", f'{{}} "{SECRET}"', "1:4: not JSON: more after the value"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in JSON_FAULTS], ids=[c[0] for c in JSON_FAULTS]
)
def test_every_json_fault_is_its_kind_and_place(tmp_path: Path, text: str, expected: str) -> None:
    rendered = fragment_error(tmp_path, "extra.ign", text)
    assert f"extra.ign:{expected}" in rendered
    assert SECRET not in rendered and "7777777" not in rendered


def test_parser_warnings_that_print_lines_are_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ruamel warns about a reused anchor and a YAML 1.1 float without a dot, and its
    warning prints the line — the secret with it."""
    text = f"%YAML 1.1\n---\na: &x {SECRET[3:]}\nb: &x {OTHER[3:]}\nc: !!float 1e3\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fragment = parse_fragment(text.encode(), "extra.yaml")
    assert fragment.data == {"a": SECRET[3:], "b": OTHER[3:], "c": 1000.0}
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr() == ("", "")


def test_the_topology_itself_does_not_echo_a_pasted_password() -> None:
    """A literal password is refused without repeating it; written twice, the YAML
    fault does not repeat it either."""
    head = "apiVersion: strata.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\n"
    literal = head + f"credentials:\n  - {{name: c, username: u, password: '{SECRET}'}}\n"
    twice = head + f"credentials:\n  - name: c\n    password: '{SECRET}'\n    password: '{OTHER}'\n"
    for text in (literal, twice):
        checked: Checked = check_text(text, "topology.yaml")
        rendered = "\n".join(d.render() for d in checked.diagnostics)
        assert checked.topology is None and rendered
        assert SECRET not in rendered and OTHER not in rendered
    assert "topology.yaml:7:5: error: <document>: YAML syntax: the key 'password'" in (
        check_text(twice, "topology.yaml").errors[0].render()
    )


def test_a_validators_message_loses_the_value_it_was_given() -> None:
    """pydantic's ``value_error`` carries the validator's own words, which may hold the
    input; the finding cuts it out."""

    class Model(BaseModel):
        password: str

        @field_validator("password")
        @classmethod
        def _check(cls, value: str) -> str:
            raise ValueError(f"{value} is too short")

    with pytest.raises(ValidationError) as caught:
        Model.model_validate({"password": SECRET})
    (finding,) = schema_findings(Model, {"password": SECRET}, caught.value.errors())
    assert SECRET not in finding.message and "is too short" in finding.message


def test_validate_prints_no_secret_and_no_escape_sequence(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "users.yaml").write_text(
        f"passwd: {{users: [{{name: core, passwordHash: '{SECRET}', passwordHash: x}}]}}\n"
    )
    topology = write_topology(tmp_path / "dc", fragment_file="users.yaml")
    for args in ([], ["-o", "json"]):
        result = CliRunner().invoke(cli, ["validate", *args, "-f", str(topology)])
        assert result.exit_code == 1
        assert "passwordHash" in result.output and SECRET not in result.output


# -- control characters ------------------------------------------------------------------


def test_printable_escapes_controls_and_bidirectional_overrides() -> None:
    assert printable("plain name/é") == "plain name/é"
    assert printable("a\x1b[2Jb\nc\rd\te\x7f\x85f\u202eg\u2066h") == (
        "a\\x1b[2Jb\\nc\\rd\\te\\x7f\\x85f\\u202eg\\u2066h"
    )


def test_a_file_name_with_escape_sequences_is_printed_escaped(tmp_path: Path) -> None:
    """YAML writes them as escapes in a double-quoted string; they reach Strata raw."""
    topology = write_topology(tmp_path / "dc", fragment_file="PLACE")
    name = r"evil\e[2J\e[31m\nfake.yaml:1:1: error: forged\u202e.yaml"
    topology.write_text(topology.read_text().replace('"PLACE"', f'"{name}"'))
    checked = check_file(topology)
    (error,) = checked.errors
    line, column = line_of(topology, "evil")
    rendered = error.render()
    assert rendered.startswith(f"{topology}:{line}:{column - 1}: error: defaults.ignition[0].file")
    assert "'evil\\x1b[2J\\x1b[31m\\nfake.yaml:1:1: error: forged\\u202e.yaml' does not exist" in (
        rendered
    )
    assert not any(c in rendered for c in "\x1b\n\u202e")
    result = CliRunner().invoke(cli, ["validate", "-f", str(topology)], env={"COLUMNS": "400"})
    assert result.exit_code == 1 and "\x1b" not in result.output and "\u202e" not in result.output
    assert result.output.count("\n") == 2  # the finding and the summary: no forged line


def test_a_key_with_control_characters_is_escaped_in_the_path_and_the_message() -> None:
    text = 'apiVersion: strata.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\n"k\\e[8m": 1\n'
    rendered = [d.render() for d in check_text(text, "t.yaml").diagnostics]
    unknown = next(r for r in rendered if "unknown key" in r)
    assert "k\\x1b[8m: unknown key 'k\\x1b[8m'" in unknown
    assert all("\x1b" not in r for r in rendered)


def test_a_named_file_error_is_escaped_where_it_is_raised() -> None:
    error = NamedFileError("Ignition fragment 'a\x1bb' does not exist", "try\nthis")
    assert (error.message, error.hint) == (
        "Ignition fragment 'a\\x1bb' does not exist",
        "try\\nthis",
    )
