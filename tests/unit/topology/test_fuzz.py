"""Property-based fuzzing of the loader: whatever the input, it answers with located findings.

The loader may refuse a file, but only through its own findings: it never
raises, never returns a topology alongside an error, and every finding points
inside the file. Generators of any size and patterns of any width answer in
bounded memory.
"""

from __future__ import annotations

import copy
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from strata.ignition import fragment_problems
from strata.topology import Checked, Severity, check_text
from strata.topology.expansion import MAX_SERVERS
from strata.topology.file_contents import parse_fragment
from strata.topology.named_files import NamedFileError
from tests.unit.topology.test_limits import HEAD

LAB = (Path(__file__).resolve().parents[3] / "examples" / "lab" / "topology.yaml").read_text()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        ["dhcp", "10.0.0.1", "52:54:00:00:00:01", "{index}", "{ip:10.0.0.1}", "redfish://x"]
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _assert_well_behaved(checked: Checked, text: str) -> None:
    lines = text.count("\n") + 2
    assert isinstance(checked, Checked)
    has_errors = any(d.severity is Severity.ERROR for d in checked.diagnostics)
    assert (checked.topology is None) == has_errors
    for d in checked.diagnostics:
        assert 1 <= d.line <= lines, d.render()
        assert d.column >= 1
        assert d.message


def _dump(data: Any) -> str:
    buffer = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, buffer)
    return buffer.getvalue()


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    _assert_well_behaved(check_text(text, "fuzz.yaml"), text)


@FUZZ
@given(values)
def test_any_yaml_document(data: Any) -> None:
    text = _dump(data)
    _assert_well_behaved(check_text(text, "fuzz.yaml"), text)


@FUZZ
@given(st.data())
def test_lab_with_one_value_replaced(data: st.DataObject) -> None:
    doc = YAML(typ="safe", pure=True).load(LAB)
    mutated = copy.deepcopy(doc)
    node = mutated
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.booleans()) or not isinstance(node[key], dict | list):
            node[key] = data.draw(values)
            break
        node = node[key]
    text = _dump(mutated)
    _assert_well_behaved(check_text(text, "fuzz.yaml"), text)


@FUZZ
@given(st.data())
def test_lab_with_text_mutations(data: st.DataObject) -> None:
    lines = LAB.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "insert"]))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = "  " + lines[i]
        elif action == "dedent":
            lines[i] = lines[i][2:]
        else:
            at = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + data.draw(st.text(max_size=5)) + lines[i][at:]
    text = "".join(lines)
    _assert_well_behaved(check_text(text, "fuzz.yaml"), text)


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"a{i}: &a{i} [{', '.join([f'*a{i - 1}' if i > 1 else '*a'] * 9)}]\n"
    checked = check_text(bomb, "bomb.yaml")
    assert checked.topology is None
    assert "expands to more than" in checked.errors[0].message


def test_recursive_alias_is_refused() -> None:
    checked = check_text("a: &a [*a]\n", "loop.yaml")
    assert checked.topology is None


small = st.integers(1, 4)
large = st.integers(1_001, 100_000)  # two of these multiply past MAX_SERVERS
placeholder = st.one_of(
    st.builds("{{index:{}}}".format, st.integers(0, 40)),
    st.builds("{{rack:{}}}".format, st.integers(0, 40)),
    st.sampled_from(
        ["{index}", "{rack}", "{{", "}}", "{", "{nope}", "{index:x}", "{index:0000003}"]
    ),
)
ip_base = st.sampled_from(
    [
        "10.0.0.1",
        "255.255.255.250",
        "0.0.0.0",
        "::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        "x",
    ]
)
mac_base = st.sampled_from(["02:00:00:00:00:00", "ff:ff:ff:ff:ff:fe", "02-00-00-00-00-00", "zz"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.one_of(st.tuples(small, small), st.tuples(large, large)),
    name=st.lists(st.one_of(placeholder, st.text("abc-0", max_size=5)), min_size=1, max_size=4),
    ip=ip_base,
    mac=mac_base,
    start=st.integers(0, 10**9),  # past it the schema drops the entry, and its rack expands alone
)
def test_generators_of_any_size_answer_in_bounded_memory(
    counts: tuple[int, int], name: list[str], ip: str, mac: str, start: int
) -> None:
    racks, nodes = counts
    assert racks * nodes <= 16 or racks * nodes > MAX_SERVERS
    text = (
        HEAD
        + f"""\
          - name: r{{rack}}
            generate: {{count: {racks}}}
            nodes:
              - name: {json.dumps("".join(name))}
                role: control-plane
                generate: {{count: {nodes}, start: {start}}}
                bmc: {{address: "redfish://{{ip:{ip}}}/"}}
                nics: [{{mac: "{{mac:{mac}}}", network: provisioning, ip: dhcp}}]
"""
    )
    tracemalloc.start()
    try:
        checked = check_text(text, "gen.yaml")
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _assert_well_behaved(checked, text)
    assert used < 32 * 1024 * 1024


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=200), st.builds(str.encode, st.text(max_size=200))),
    name=st.sampled_from(["f.ign", "f.json", "f.yaml"]),
)
def test_any_fragment_file_is_a_mapping_or_a_refusal(data: bytes, name: str) -> None:
    try:
        fragment = parse_fragment(data, name)
    except NamedFileError as exc:
        assert exc.message
    else:
        assert isinstance(fragment.data, dict)


@FUZZ
@given(values)
def test_any_fragment_gets_problems_not_an_exception(data: Any) -> None:
    fragment = {"storage": data, "systemd": {"units": data}, "passwd": {"users": [data]}}
    for problem in fragment_problems(fragment, "flatcar"):
        assert problem[1]
