"""Load topology.yaml: parse, check the schema, resolve, apply the rules.

All findings of a file come out of one run. To get there past schema errors,
the loader repairs a copy of the document and validates again: unknown keys
are dropped, and a node, NIC, disk, network, layer or credentials entry with
a bad field is left out, its findings kept. Rules then run on what is left;
the names of entries left out still count as defined, and a rule that would
misfire because something was left out is skipped. Paths in findings always
refer to the file as written.

Every input is bounded before it is worked on: the file's size (``TOPOLOGY``'s
``max_bytes``), the values its aliases expand to and its nesting (``source``), the
servers its generators expand to (``expansion``), the files it names
(``named_files``) and the findings kept (``diagnostics.MAX_FINDINGS``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from strata.topology.diagnostics import Diagnostic, Diagnostics, Path, Severity, TopologyError
from strata.topology.file_rules import FragmentCheck, check_named_files
from strata.topology.model import Topology
from strata.topology.named_files import TOPOLOGY, NamedFileError, NamedFiles, read_regular
from strata.topology.object_form import check_consent, document_of_object, is_object, object_path
from strata.topology.resolve import resolve
from strata.topology.rules import LeftOut, check_rules
from strata.topology.schema_errors import SchemaFinding, schema_findings
from strata.topology.source import SourceError, parse_yaml
from strata.topology.spec import TopologySpec

__all__ = ["MAX_TOPOLOGY_BYTES", "Checked", "FragmentCheck", "check_file", "check_text", "load"]

MAX_TOPOLOGY_BYTES = TOPOLOGY.max_bytes
"""The largest topology.yaml read, in bytes (about 60,000 servers written one by one)."""

_REPAIRABLE_LISTS = ("nodes", "nics", "disks", "networks", "layers", "credentials")
_MAX_PASSES = 20


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a file: the topology (when it has no errors) and every finding."""

    topology: Topology | None
    diagnostics: tuple[Diagnostic, ...]
    omitted: int = 0  # findings past diagnostics.MAX_FINDINGS: counted, not kept

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]


def load(path: str | FsPath, fragment_check: FragmentCheck | None = None) -> Topology:
    """The validated topology, or ``TopologyError`` carrying every finding."""
    checked = check_file(path, fragment_check)
    if checked.topology is None:
        raise TopologyError(checked.diagnostics)
    return checked.topology


def check_file(path: str | FsPath, fragment_check: FragmentCheck | None = None) -> Checked:
    """Check the file at ``path`` and the files it names (see ``check_text``)."""
    file = FsPath(path)
    try:
        data = read_regular(FsPath(os.path.realpath(file)), TOPOLOGY, str(file))
        text = data.decode("utf-8")
    except NamedFileError as exc:
        return _failed(str(file), exc.message)
    except UnicodeDecodeError as exc:
        return _failed(str(file), f"not UTF-8 text (byte {exc.start})")
    return check_text(text, str(file), base_dir=file.parent, fragment_check=fragment_check)


def check_text(
    text: str,
    file: str = "<topology>",
    base_dir: FsPath | None = None,
    fragment_check: FragmentCheck | None = None,
) -> Checked:
    """Every finding about ``text``; the topology when there is no error.

    ``base_dir``: the topology's directory, where the files it names are read (with
    ``STRATA_ALLOWED_DIRS``); None skips them. ``fragment_check``: how Ignition
    fragments are checked (``strata.ignition.fragment_problems``); None parses them only.
    """
    if len(text) > MAX_TOPOLOGY_BYTES or len(text.encode()) > MAX_TOPOLOGY_BYTES:
        return _failed(file, f"larger than {MAX_TOPOLOGY_BYTES:,} bytes")
    try:
        doc = parse_yaml(text, file)
    except SourceError as exc:
        return Checked(None, (exc.diagnostic,))
    if not isinstance(doc.data, dict):
        return _failed(file, "the document must be a mapping (apiVersion, kind, metadata, …)")
    repairs = _Repairs()
    form = is_object(doc.data)  # the Topology object a GitOps repository commits
    remap = (lambda p: object_path(repairs.to_original(p))) if form else repairs.to_original
    diags = Diagnostics(file, doc, remap=remap)
    data = document_of_object(doc.data, diags) if form else doc.data
    spec = _validate(data, diags, repairs)
    if spec is None:
        return _checked(None, diags)
    before = diags.count
    topology = resolve(spec, diags)
    if diags.count > before:  # every resolve finding leaves a node (or rack) out
        repairs.left_out.nodes += 1
    check_rules(spec, topology, diags, left_out=repairs.left_out)
    if form:
        check_consent(doc.data, topology, diags)
    if base_dir is not None:
        _named_files(spec, topology, diags, base_dir, fragment_check)
    if diags.has_errors:
        return _checked(None, diags)
    findings = _checked(topology, diags)
    warnings = tuple(d for d in findings.diagnostics if d.severity is Severity.WARNING)
    return replace(findings, topology=replace(topology, warnings=warnings))


def _named_files(
    spec: TopologySpec,
    topology: Topology,
    diags: Diagnostics,
    base_dir: FsPath,
    fragment_check: FragmentCheck | None,
) -> None:
    try:
        files = NamedFiles.beside(base_dir)
    except NamedFileError as exc:
        diags.error((), exc.message)
        return
    check_named_files(spec, topology, diags, files, fragment_check)


def _checked(topology: Topology | None, diags: Diagnostics) -> Checked:
    return Checked(topology, tuple(diags.sorted()), sum(diags.omitted.values()))


def _validate(original: Any, diags: Diagnostics, repairs: _Repairs) -> TopologySpec | None:
    data: Any = original
    for _ in range(_MAX_PASSES):
        try:
            return TopologySpec.model_validate(data, strict=True, by_alias=True, by_name=False)
        except ValidationError as exc:
            findings = schema_findings(TopologySpec, data, exc.errors())
        for finding in findings:
            diags.error(finding.path, finding.message, finding.hint, key=finding.key)
        if data is original:
            data = copy.deepcopy(data)
        if not repairs.repair(data, findings):
            return None
    return None


@dataclass
class _Repairs:
    """Edits made to a copy of the document, and how to map paths back to the original."""

    alive: dict[Path, list[int]] = field(default_factory=dict)  # list path -> original indices
    left_out: LeftOut = field(default_factory=LeftOut)

    def to_original(self, path: Path) -> Path:
        out: list[str | int] = []
        for part in path:
            if isinstance(part, int):
                alive = self.alive.get(tuple(out))
                if alive is not None and part < len(alive):
                    part = alive[part]
            out.append(part)
        return tuple(out)

    def repair(self, data: Any, findings: list[SchemaFinding]) -> bool:
        """Drop what each finding points at; False when some finding cannot be repaired."""
        doomed: dict[Path, set[int]] = {}
        for finding in findings:
            if finding.kind == "extra_forbidden":
                parent = _at(data, finding.path[:-1])
                if isinstance(parent, dict):
                    parent.pop(finding.path[-1], None)
                continue
            item = _innermost_item(finding.path)
            if item is None:
                return False
            doomed.setdefault(item[0], set()).add(item[1])
        # Deeper lists first: dropping an item shifts the indices of the paths below it.
        for list_path in sorted(doomed, key=len, reverse=True):
            self._drop(data, list_path, doomed[list_path])
        return True

    def _drop(self, data: Any, list_path: Path, indices: set[int]) -> None:
        items = _at(data, list_path)
        original = self.to_original(list_path)
        alive = self.alive.setdefault(original, list(range(len(items))))
        for index in sorted(indices, reverse=True):
            self.left_out.add(str(list_path[-1]), items[index])
            del items[index]
            del alive[index]


def _innermost_item(path: Path) -> tuple[Path, int] | None:
    for i in range(len(path) - 1, 0, -1):
        part = path[i]
        if isinstance(part, int) and path[i - 1] in _REPAIRABLE_LISTS:
            return path[:i], part
    return None


def _at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _failed(file: str, message: str) -> Checked:
    return Checked(None, (Diagnostic(Severity.ERROR, message, (), file, 1, 1),))
