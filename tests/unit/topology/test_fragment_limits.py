"""Ignition fragments cost what their bounds allow, and no more: a size limit, a node limit
scaled from topology.yaml's, a budget for all the files of a check, and one parsed
fragment alive at a time.

Measured on the 2-core machine (docs/topology.md, "Limits"), ``strata validate`` of the
worst topologies within these limits, each naming distinct fragment files that fill the
1 MiB budget, every fragment at the node limit and checked for three OS releases
(flatcar, fcos, rhcos):

- 16 fragments of dense YAML (``aN: [0,0,0,…]``, 62 KB and 31,249 nodes each): 33 s, 83 MB;
- 5 fragments of valid Ignition (6,248 ``storage.files`` each, 205 KB): 16 s, 75 MB;
- 6 fragments of 6,248 faulty files each (12,496 problems per release): 19 s, 74 MB.

Before these limits one 1 MiB fragment of dense YAML took 38 s and 540 MB, three took 102 s
and 808 MB, and the 64 MiB budget extrapolated to 35 minutes and 9 GB. Memory here is
asserted with tracemalloc on real files in tmp_path, never on wall-clock time.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from strata.ignition import fragment_problems
from strata.topology import check_file, file_contents
from strata.topology.file_contents import MAX_FRAGMENT_NODES, parse_fragment
from strata.topology.named_files import (
    ALLOWED_DIRS_ENV,
    CA_BUNDLE,
    IGNITION_FRAGMENT,
    MAX_NAMED_BYTES,
    TOPOLOGY,
    NamedFileError,
)
from strata.topology.source import MAX_NODES
from tests.unit.topology.named import write_topology

T = TypeVar("T")
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)


def peak(work: Callable[[], T]) -> tuple[T, int]:
    """``work()``'s result and the peak of memory allocated while it ran, in bytes."""
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def naming(directory: Path, fragments: dict[str, str]) -> Path:
    """A topology in ``directory`` whose defaults name each of ``fragments`` (file: text)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in fragments.items():
        (directory / name).write_text(text)
    topology = write_topology(directory, fragment_file="PLACE")
    listed = ", ".join(f"{{name: f{i}, file: {name}}}" for i, name in enumerate(fragments))
    topology.write_text(
        topology.read_text().replace('[{name: extra, file: "PLACE"}]', f"[{listed}]")
    )
    return topology


def files(count: int, tag: str = "") -> str:
    """A valid fragment of ``count`` storage.files: five keys and values each."""
    entries = "".join(f"  - {{path: /etc/{tag}{i}, mode: 420}}\n" for i in range(count))
    return "storage:\n  files:\n" + entries


def test_the_limits_are_what_the_documentation_says() -> None:
    """A fragment is tens of KB in practice; the node limit is topology.yaml's, scaled."""
    limits = (IGNITION_FRAGMENT.max_bytes, CA_BUNDLE.max_bytes, MAX_NAMED_BYTES)
    assert limits == (256 * 1024, 512 * 1024, MiB)
    scaled = MAX_NODES * IGNITION_FRAGMENT.max_bytes // TOPOLOGY.max_bytes
    assert scaled == MAX_FRAGMENT_NODES == 31_250
    documented = Path(__file__).parents[3].joinpath("docs", "topology.md").read_text()
    for row in (
        "| an Ignition fragment file | 256 KiB ",
        "| keys and values in an Ignition fragment | 31,250: ",
        "| a CA bundle | 512 KiB ",
        "| all the files one check reads | 1 MiB ",
    ):
        assert row in documented


def test_a_dense_fragment_is_refused_at_the_node_limit(tmp_path: Path) -> None:
    """62 KB of ``[0,0,0,…]`` is 31,251 nodes: refused while ruamel composes it, having
    cost what the limit allows (the densest YAML: two bytes a node)."""
    dense = "a: [" + "0," * (MAX_FRAGMENT_NODES - 3) + "0]\n"
    assert len(dense) < IGNITION_FRAGMENT.max_bytes
    topology = naming(tmp_path / "dc", {"dense.yaml": dense})
    checked, used = peak(lambda: check_file(topology))
    (error,) = checked.errors
    assert f"dense.yaml:1:1: the document holds more than {MAX_FRAGMENT_NODES:,} keys and" in (
        error.message
    )
    assert used < 64 * MiB


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("flat.yaml", "a: [" + "0," * 100_000 + "0]\n"),
        ("keys.yaml", "".join(f"k{i}: 0\n" for i in range(50_000))),
        ("flat.ign", '{"a": [' + "0," * 100_000 + "0]}"),
        ("keys.ign", "{" + ", ".join(f'"k{i}": 0' for i in range(50_000)) + "}"),
    ],
)
def test_a_fragment_past_the_node_limit_costs_what_the_limit_does(
    monkeypatch: pytest.MonkeyPatch, name: str, text: str
) -> None:
    """YAML stops composing at the limit (ruamel's objects cost most of a kilobyte a
    node); JSON is counted before anything walks it. (A lower limit keeps this fast; the
    cost is linear.)"""
    monkeypatch.setattr(file_contents, "MAX_FRAGMENT_NODES", 1_000)

    def refused() -> str:
        try:
            parse_fragment(text.encode(), name)
        except NamedFileError as exc:
            return str(exc)
        return "accepted"

    message, used = peak(refused)
    assert "more than 1,000 keys and values" in message
    # Unbounded, ruamel's 100,000 nodes would cost over 100 MiB; json parses the whole
    # text (at most 256 KiB) in C before it is counted.
    assert used < 16 * MiB


def test_fragments_are_parsed_one_at_a_time(tmp_path: Path) -> None:
    """Three fragments cost what the largest does: each parse is dropped before the next
    file is read."""
    count = 1_000
    one = naming(tmp_path / "one", {"a.yaml": files(count)})
    three = naming(tmp_path / "three", {f"{t}.yaml": files(count, t) for t in "abc"})
    checked_one, used_one = peak(lambda: check_file(one, fragment_check=fragment_problems))
    checked_three, used_three = peak(lambda: check_file(three, fragment_check=fragment_problems))
    assert checked_one.topology is not None and checked_three.topology is not None
    assert used_three < 1.3 * used_one, (used_one, used_three)


def test_a_file_named_twice_is_read_parsed_and_checked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(fragment: object, os_name: str, os_version: str) -> list[object]:
        calls.append(os_name)
        return []

    topology = naming(tmp_path / "dc", {"a.yaml": files(3)})
    text = topology.read_text().replace("file: a.yaml}]", "file: a.yaml}, {name: g, file: a.yaml}]")
    topology.write_text(text)
    checked = check_file(topology, fragment_check=counting)  # type: ignore[arg-type]
    assert checked.topology is not None and calls == ["flatcar"]


def test_the_files_together_are_bounded(tmp_path: Path) -> None:
    """Five fragments just under the size limit: the fifth passes the budget."""
    big = "#" * (IGNITION_FRAGMENT.max_bytes - 100) + "\nstorage: {}\n"
    fragments = {f"f{i}.yaml": big for i in range(5)}
    assert len(big) * 4 <= MAX_NAMED_BYTES < len(big) * 5
    checked = check_file(naming(tmp_path / "dc", fragments))
    (error,) = checked.errors
    assert "Ignition fragment 'f4.yaml': the files this topology names hold more than" in (
        error.message
    )
    assert f"{MAX_NAMED_BYTES:,} bytes together" in error.message
