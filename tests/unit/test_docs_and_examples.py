"""The committed schema, the docs' field reference and the examples stay in step with the code."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from strata.topology import check_file, check_text
from strata.topology.addresses import BMC_SCHEMES
from strata.topology.jsonschema import schema_json, schema_markdown
from strata.topology.settings import BMCProtocol

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/topology.yaml"))
BEGIN = "<!-- BEGIN GENERATED: strata schema --output markdown -->\n"
END = "<!-- END GENERATED -->"


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schema" / "topology.schema.json").read_text()
    assert committed == schema_json(), "run: strata schema > schema/topology.schema.json"


def test_docs_field_reference_is_current() -> None:
    text = (ROOT / "docs" / "topology.md").read_text()
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert generated.strip() == schema_markdown().strip(), "regenerate docs/topology.md's reference"


def test_every_schema_key_is_documented() -> None:
    text = (ROOT / "docs" / "topology.md").read_text()
    schema = json.loads(schema_json())
    for name, definition in {"root": schema, **schema["$defs"]}.items():
        for key in definition.get("properties", {}):
            assert f"| `{key}` |" in text, f"{name}.{key} missing from docs/topology.md"


def test_there_are_three_examples() -> None:
    assert {p.parent.name for p in EXAMPLES} == {"lab", "midsize", "hyperscale"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_is_valid_and_clean(example: Path) -> None:
    checked = check_file(example)
    assert [d.render() for d in checked.diagnostics] == []
    assert checked.topology is not None


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_passes_the_committed_json_schema(example: Path) -> None:
    """What an editor checks with the schema agrees with Strata."""
    first = example.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schema/topology.schema.json"
    schema = json.loads((ROOT / "schema" / "topology.schema.json").read_text())
    data = YAML(typ="safe", pure=True).load(example.read_text())
    jsonschema.Draft202012Validator(schema).validate(data)


def test_json_schema_refuses_an_unknown_key() -> None:
    schema = json.loads(schema_json())
    data = YAML(typ="safe", pure=True).load((ROOT / "examples/lab/topology.yaml").read_text())
    data["regions"][0]["zones"][0]["racks"][0]["nodes"][0]["rol"] = "worker"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(data)


@pytest.mark.parametrize("doc", ["README.md", "docs/topology.md"])
def test_the_first_example_of_a_doc_is_valid(doc: str) -> None:
    text = (ROOT / doc).read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None
    checked = check_text(block.group(1), doc)
    assert [d.render() for d in checked.diagnostics] == []
    assert checked.topology is not None


def test_bmc_protocols_match_address_schemes() -> None:
    assert set(typing.get_args(BMCProtocol)) == set(BMC_SCHEMES)


def test_the_readme_tour_is_the_lab_example() -> None:
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A short tour of topology.yaml", 1)[1].split("```yaml\n", 1)[1]
    assert tour.split("```\n", 1)[0] == (ROOT / "examples/lab/topology.yaml").read_text()
