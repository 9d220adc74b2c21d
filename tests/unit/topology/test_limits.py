"""Every input dimension that could grow without bound is refused before the work it would cause.

Bounds are asserted on memory (tracemalloc's peak) and on *where* the refusal happens,
never on wall-clock time: a small peak proves nothing was expanded.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from strata.topology import Checked, check_file, check_text, source
from strata.topology.diagnostics import MAX_FINDINGS
from strata.topology.expansion import MAX_OBJECTS, MAX_SERVERS
from strata.topology.loader import MAX_TOPOLOGY_BYTES
from strata.topology.source import MAX_DEPTH, MAX_NODES
from strata.topology.templates import MAX_PATTERN_LENGTH, MAX_PATTERN_WIDTH
from tests.unit.topology.named import laughs

SMALL = 20 * 1024 * 1024  # bytes: a refused input never costs more than this

HEAD = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {name: big}
defaults:
  os: {name: flatcar, version: "4081.2.0"}
  layer: mgmt
networks:
  - {name: bmc, purpose: bmc, cidr: 10.0.0.0/8}
  - {name: provisioning, purpose: provisioning, cidr: 172.16.0.0/12}
layers:
  - name: mgmt
    distribution: {name: kubeadm, version: "1.31.2"}
    endpoint: {vip: 172.16.0.1}
    podCIDR: 192.168.0.0/17
    serviceCIDR: 192.168.128.0/17
regions:
  - name: r
    zones:
      - name: z
        racks:
"""


def rack(racks: int | None, nodes: int, *, name: str = "n{rack}-{index}", nics: int = 1) -> str:
    """One rack entry (generated when ``racks``) holding one node generator of ``nodes``."""
    generate = f"\n            generate: {{count: {racks}}}" if racks else ""
    nic_list = ", ".join(
        f'{{mac: "{{mac:02:00:00:{i:02x}:00:00}}", network: provisioning, ip: dhcp}}'
        for i in range(nics)
    )
    entry = f"""\
          - name: r{{rack}}{generate}
            nodes:
              - name: cp{{rack}}
                role: control-plane
                bmc: {{address: "redfish://{{ip:10.200.0.1}}/redfish/v1/Systems/1"}}
                nics: [{{mac: "{{mac:02:01:00:00:00:00}}", network: provisioning, ip: dhcp}}]
              - name: "{name}"
                generate: {{count: {nodes}}}
                bmc: {{address: "redfish://{{ip:10.0.0.1}}/redfish/v1/Systems/1"}}
                nics: [{nic_list}]
"""
    return entry if racks else entry.replace("{rack}", "0")


def peak(work: Callable[[], Checked]) -> tuple[Checked, int]:
    """``work()``'s result and the peak of memory allocated while it ran, in bytes."""
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused(checked: Checked) -> str:
    assert checked.topology is None
    assert len(checked.errors) == 1, [d.render() for d in checked.diagnostics]
    return checked.errors[0].render()


def position(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based line and column of the ``nth`` line holding ``needle``."""
    found = [
        (number, line.index(needle) + 1)
        for number, line in enumerate(text.splitlines(), start=1)
        if needle in line
    ]
    return found[nth - 1]


# -- generators ------------------------------------------------------------------------


def test_a_generator_of_generators_is_refused_before_it_expands() -> None:
    """Issue 11: a rack generator of 100,000 holding a node generator of 100,000, 1.4 KB."""
    text = HEAD + rack(100_000, 100_000)
    assert len(text.encode()) < 1_500
    checked, used = peak(lambda: check_text(text, "bomb.yaml"))
    line, column = position(text, "count: 100000}", nth=2)
    assert refused(checked) == (
        f"bomb.yaml:{line}:{column + 7}: error: "
        "regions[0].zones[0].racks[0].nodes[1].generate.count: expanded, the topology holds "
        f"more than {MAX_SERVERS:,} servers; this entry alone makes 10,000,000,000 "
        "(100,000 racks of 100,000 nodes) (lower generate.count, or split the datacenter "
        "into several topologies)"
    )
    assert used < SMALL


def test_servers_are_counted_across_entries() -> None:
    """Rack entries of 100,001 servers each: the tenth pushes past the limit, and no rack
    entry before it was expanded to find out."""
    text = HEAD + "".join(rack(None, 100_000).replace("r0", f"r{i}") for i in range(10))
    checked, used = peak(lambda: check_text(text, "many.yaml"))
    assert ".racks[9].nodes[1].generate.count: expanded, the topology holds more than" in (
        refused(checked)
    )
    assert used < SMALL


def test_nics_count_towards_the_objects_made() -> None:
    racks, nodes, nics = 10, 99_000, 8
    assert racks * (nodes + 1) <= MAX_SERVERS < racks * (nodes + 1) * (1 + nics)
    checked, used = peak(lambda: check_text(HEAD + rack(racks, nodes, nics=nics), "nics.yaml"))
    assert f"more than {MAX_OBJECTS:,} racks, switches, switch ports, servers and NICs" in (
        refused(checked)
    )
    assert "with 8 NICs each" in refused(checked)
    assert used < SMALL


def test_switch_ports_count_towards_the_objects_made() -> None:
    text = (HEAD + rack(None, 1)).replace(
        "            nodes:\n",
        "            switches: [{name: tor, ports: 1000000000000}]\n            nodes:\n",
        1,
    )
    checked, used = peak(lambda: check_text(text, "ports.yaml"))
    assert "racks[0]: expanded, the topology holds more than" in refused(checked)
    assert used < SMALL


def test_a_wide_index_is_refused_at_its_entry() -> None:
    checked = check_text(HEAD + rack(2, 2, name="n{index:99999999}"), "wide.yaml")
    assert f"{{index:99999999}}: the width is at most {MAX_PATTERN_WIDTH}" in refused(checked)


def test_a_long_pattern_is_refused_at_its_entry() -> None:
    long_name = "n{index}" + "x" * MAX_PATTERN_LENGTH
    checked = check_text(HEAD + rack(2, 2, name=long_name), "long.yaml")
    assert f"nodes[1].name: longer than {MAX_PATTERN_LENGTH} characters" in refused(checked)


def test_a_huge_start_is_refused_by_the_schema() -> None:
    text = (HEAD + rack(2, 2)).replace(
        "generate: {count: 2}\n                bmc",
        "generate: {count: 2, start: " + "9" * 4000 + "}\n                bmc",
    )
    assert "generate.start" in refused(check_text(text, "start.yaml"))


def test_an_address_run_past_its_end_names_the_item() -> None:
    text = (HEAD + rack(None, 10)).replace("{ip:10.0.0.1}", "{ip:255.255.255.250}")
    assert "{ip:…} runs past the last address (generated item #7)" in refused(
        check_text(text, "ip.yaml")
    )


# -- the document ----------------------------------------------------------------------


def test_a_billion_laughs_is_refused_without_expanding() -> None:
    checked, used = peak(lambda: check_text(laughs(), "laughs.yaml"))
    assert refused(checked) == (
        "laughs.yaml:1:1: error: <document>: "
        f"the document expands to more than {MAX_NODES:,} nodes (aliases?)"
    )
    assert used < SMALL


def test_laughs_inside_a_real_topology_are_refused_too() -> None:
    text = HEAD.replace("metadata: {name: big}", "metadata: {name: big, labels: *a8}")
    checked, used = peak(lambda: check_text(laughs() + text, "laughs.yaml"))
    assert "expands to more than" in refused(checked)
    assert used < SMALL


def test_a_document_of_too_many_values_is_refused_while_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ruamel's objects cost most of a kilobyte a node: the composer stops at the limit, so
    16 MiB of ``[1,1,1,…]`` or of ``k1:`` lines costs what the limit does, not gigabytes.
    (A lower limit here keeps the test fast; the cost is linear.)"""
    monkeypatch.setattr(source, "MAX_NODES", 1_000)
    for text in ("a: [" + "1," * 100_000 + "1]\n", "".join(f"k{i}:\n" for i in range(50_000))):
        checked, used = peak(lambda text=text: check_text(text, "flat.yaml"))
        assert refused(checked) == (
            "flat.yaml:1:1: error: <document>: the document holds more than 1,000 keys and values"
        )
        assert used < 2 * 1024 * 1024


def test_deep_nesting_is_refused() -> None:
    depth = MAX_DEPTH + 1
    checked = check_text("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")
    assert f"nests deeper than {MAX_DEPTH} levels" in refused(checked)
    checked = check_text("a: " + "[" * 100_000 + "\n", "deeper.yaml")  # past Python's stack
    assert checked.topology is None and checked.errors


def test_an_oversize_text_is_refused_before_parsing() -> None:
    text = "#" * (MAX_TOPOLOGY_BYTES + 1)
    checked, used = peak(lambda: check_text(text, "big.yaml"))
    assert f"larger than {MAX_TOPOLOGY_BYTES:,} bytes" in refused(checked)
    assert used < SMALL


def test_an_oversize_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "topology.yaml"
    with big.open("wb") as out:
        out.truncate(MAX_TOPOLOGY_BYTES + 1)
    checked, used = peak(lambda: check_file(big))
    assert f"is {MAX_TOPOLOGY_BYTES + 1:,} bytes; the limit is" in refused(checked)
    assert used < SMALL


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory"])
def test_a_topology_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "topology.yaml"
        os.mkfifo(path)
    elif kind == "directory":
        path = tmp_path
    else:
        path = Path(kind)
    assert "not a regular file" in refused(check_file(path))


# -- findings --------------------------------------------------------------------------


def test_findings_past_the_limit_are_counted_not_kept() -> None:
    nodes = "".join(
        f"""\
              - name: n{i}
                bmc: {{address: "redfish://10.0.{i // 250}.{i % 250 + 1}/"}}
                nics: [{{mac: "02:00:00:00:{i // 256:02x}:{i % 256:02x}", network: provisioning}}]
                colour: blue
"""
        for i in range(MAX_FINDINGS + 500)
    )
    text = HEAD + "          - name: r\n            nodes:\n" + nodes
    checked = check_text(text, "noisy.yaml")
    assert checked.topology is None
    assert len(checked.diagnostics) == MAX_FINDINGS
    assert checked.omitted >= 500
