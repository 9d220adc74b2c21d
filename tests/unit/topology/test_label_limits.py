"""Labels per node are bounded, so what a plan holds grows with the servers, not with
servers times labels.

The review's case: a 278 KB file of 8,000 default labels and one label per generated node
(20,000 nodes) validated in 1.8 s and 76 MB, then ``strata plan`` under ``prlimit --as=3G``
died of a MemoryError; 2,000 nodes of 4,000 labels made a 348 MB ``plan -o json`` that
apply would have stored. Now such a file is one located error at validate. Measured at
both limits (64 labels of 4,096 bytes on each of 20,001 nodes), ``plan -o json`` wrote
125 MB in 10 s and 166 MB on the 2-core machine. Memory is asserted with tracemalloc.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from strata.plan import build_plan, to_jsonable
from strata.topology import check_text
from strata.topology.label_limits import MAX_LABEL_BYTES, MAX_LABELS
from tests.unit.topology.test_limits import HEAD, position, rack

T = TypeVar("T")
MiB = 1024 * 1024


def peak(work: Callable[[], T]) -> tuple[T, int]:
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def labelled(nodes: int, defaults: dict[str, str], own: dict[str, str]) -> str:
    """``nodes`` generated nodes; ``defaults`` at the top, ``own`` on the node entry."""
    text = HEAD + rack(None, nodes)
    if defaults:
        lines = "".join(f"    {k}: {v}\n" for k, v in defaults.items())
        text = text.replace("  layer: mgmt\n", "  layer: mgmt\n  labels:\n" + lines, 1)
    if own:
        flow = ", ".join(f"{k}: {v}" for k, v in own.items())
        text = text.replace(
            f"generate: {{count: {nodes}}}",
            f"generate: {{count: {nodes}}}\n                labels: {{{flow}}}",
        )
    return text


def sized(count: int, size: int, name: str = "k") -> dict[str, str]:
    """``count`` valid labels of ``size`` bytes each (key and value): a value of up to 63
    characters, a key with a DNS prefix when it needs more than 63."""
    value = "v" * min(63, size // 2)
    width = size - len(value)
    keys = [f"{name}{i:04d}" for i in range(count)]
    if width <= 63:
        return {key.ljust(width, "x"): value for key in keys}
    return {f"{key}.".ljust(width - 2, "x") + "/n": value for key in keys}


def test_the_reviews_file_is_one_located_error_without_expanding_labels() -> None:
    """8,000 default labels, one more on each generated node (5,000 here: the cost of the
    check is the labels as written, whatever the count)."""
    text = labelled(5_000, {f"k{i}": f"v{i}" for i in range(8_000)}, {"own": "yes"})
    checked, used = peak(lambda: check_text(text, "labels.yaml"))
    assert checked.topology is None
    (error,) = checked.errors
    line, column = position(text, "labels:")
    assert error.render().startswith(
        f"labels.yaml:{line}:{column}: error: defaults.labels: a node here carries 8,000 labels; "
        f"at most {MAX_LABELS} are allowed (Kubernetes keeps a Node in one etcd value"
    )
    assert used < 40 * MiB  # the document and 5,000 nodes; nothing per label per node


def test_the_entry_that_takes_nodes_past_the_limit_is_named_with_what_they_inherit() -> None:
    text = labelled(100, {f"k{i}": "v" for i in range(MAX_LABELS - 1)}, {"own": "a", "two": "b"})
    (error,) = check_text(text, "labels.yaml").errors
    line, _ = position(text, "labels: {own")
    assert (error.line, str(error.path[-1])) == (line, "labels")
    assert error.message == (
        f"a node here carries {MAX_LABELS + 1} labels ({MAX_LABELS - 1} of them inherited); "
        f"at most {MAX_LABELS} are allowed"
    )


def test_a_key_the_node_sets_again_is_counted_once() -> None:
    text = labelled(10, {f"k{i}": "v" for i in range(MAX_LABELS)}, {"k0": "other", "k1": "x"})
    checked = check_text(text, "labels.yaml")
    assert checked.topology is not None, [d.render() for d in checked.diagnostics]


def test_the_bytes_of_a_nodes_labels_are_bounded() -> None:
    text = labelled(10, sized(20, 200), {"own".ljust(40, "x"): "v" * 63})
    (error,) = check_text(text, "labels.yaml").errors
    assert error.message == (
        "the labels of a node here hold 4,103 bytes of keys and values (20 of them "
        f"inherited); at most {MAX_LABEL_BYTES:,} are allowed"
    )


def test_at_both_limits_the_plan_costs_a_bounded_amount_a_node() -> None:
    nodes = 2_000
    defaults = sized(MAX_LABELS - 1, MAX_LABEL_BYTES // MAX_LABELS)
    own = sized(1, MAX_LABEL_BYTES // MAX_LABELS, name="own")
    checked = check_text(labelled(nodes, defaults, own), "labels.yaml")
    assert checked.topology is not None, [d.render() for d in checked.diagnostics]
    topology = checked.topology
    plan, used = peak(lambda: to_jsonable(build_plan(topology)))
    assert max(len(n["labels"]) for n in plan["nodes"]) == MAX_LABELS + 3  # Strata's three
    assert used < (nodes + 1) * 24 * 1024  # labels, node plan and JSON form: under 24 KiB a node


def test_the_limits_are_documented() -> None:
    documented = Path(__file__).parents[3].joinpath("docs", "topology.md").read_text()
    assert f"| labels a node carries, its own and those it inherits | {MAX_LABELS}, and " in (
        documented
    )
    assert f"{MAX_LABEL_BYTES:,} bytes of keys and values together" in documented
