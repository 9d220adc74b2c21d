"""Read the Ignition fragments topology.yaml names, once, when the service starts.

Each file goes through the reader ``strata validate`` uses (``strata.topology.named_files``:
inside the topology's directory or an allowed one, a regular file, bounded) and the same
parser, and every fragment — file or inline — is checked as Ignition for the OS release
of each node that receives it (``strata.ignition.fragment_problems``) before it is ever merged.
A fragment's name is free text from topology.yaml, and a problem may name what the
fragment holds (a path, a unit): messages show them with their control characters
escaped (``strata.topology.diagnostics.printable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from strata.errors import StrataError
from strata.ignition import Config, fragment_problems
from strata.topology import Node, Topology
from strata.topology.diagnostics import format_path, printable
from strata.topology.file_contents import parse_fragment
from strata.topology.file_rules import release_group
from strata.topology.named_files import IGNITION_FRAGMENT, NamedFileError, NamedFiles
from strata.topology.settings import IgnitionFragment

__all__ = ["FragmentError", "load_fragments"]


class FragmentError(StrataError):
    """A fragment file may not be read, or a fragment is not valid Ignition for its node."""

    kind = "ignition-fragment"


def load_fragments(topology: Topology, base_dir: Path) -> Mapping[str, tuple[Config, ...]]:
    """Every node's fragments, by node name, read and checked; raises ``FragmentError``."""
    try:
        files = NamedFiles.beside(base_dir)
    except NamedFileError as exc:
        raise FragmentError(str(exc)) from None
    loader = _Loader(files)
    return {
        node.name: tuple(loader.fragment(f, node) for f in node.ignition)
        for node in topology.nodes
        if node.ignition
    }


class _Loader:
    """Reads each file once and checks each fragment once per OS and Ignition spec its
    nodes' releases read (``file_rules.release_group``), as validate does: a fleet of many
    releases costs a check per spec, not per release."""

    def __init__(self, files: NamedFiles) -> None:
        self.files = files
        self.read: dict[str, Config] = {}
        self.checked: set[tuple[int, str, str]] = set()
        self.groups: dict[tuple[str, str], tuple[str, str]] = {}

    def fragment(self, fragment: IgnitionFragment, node: Node) -> Config:
        config = self._content(fragment)
        os_release = (node.os.name, node.os.version)
        if os_release not in self.groups:
            self.groups[os_release] = release_group(*os_release)
        release = (id(fragment), *self.groups[os_release])
        if release not in self.checked:
            problems = fragment_problems(config, node.os.name, node.os.version)
            if problems:
                where, problem = problems[0]
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise FragmentError(
                    printable(
                        f"Ignition fragment {fragment.name} of node {node.name} "
                        f"({node.os.name} {node.os.version}): "
                        f"{format_path(where) or '<fragment>'}: {problem}{more}; "
                        "run strata validate for every finding"
                    )
                )
            self.checked.add(release)
        return config

    def _content(self, fragment: IgnitionFragment) -> Config:
        if fragment.inline is not None:
            return dict(fragment.inline)
        name = fragment.file
        assert name is not None
        if name not in self.read:
            try:
                data = self.files.read(name, IGNITION_FRAGMENT)
                self.read[name] = parse_fragment(data, name).data
            except NamedFileError as exc:
                raise FragmentError(
                    f"Ignition fragment {printable(fragment.name)}: {exc}"
                ) from None
        return self.read[name]
