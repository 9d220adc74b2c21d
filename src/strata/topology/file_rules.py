"""Rules about the files topology.yaml names: passwords, Ignition fragments, CA bundles.

Each file is read once through ``named_files`` (inside the allowed directories, a
regular file, bounded) and its contents checked by ``file_contents`` — the same code
that reads it again at use. A password file that is not there is no finding: secrets
are read when Strata uses them, as an environment variable is; its path must still be
one Strata may read. Ignition fragments are checked as Ignition for the OS of every
node that receives them — once per OS and Ignition spec its release reads
(``os_releases``) — by a ``FragmentCheck`` the caller supplies (the Ignition rules live
in ``strata.ignition``, above this package).

Fragment files are checked one file at a time: every place that names a file is
gathered first, then the file is read, parsed and checked once for all of them, and its
parse (ruamel's positions, some hundred bytes a node) is dropped before the next file is
read. Memory is then what the largest fragment costs, not what all of them do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from strata.topology.diagnostics import Diagnostics, Path, format_path
from strata.topology.file_contents import Fragment, check_ca_bundle, parse_fragment, password_from
from strata.topology.model import Topology
from strata.topology.named_files import (
    CA_BUNDLE,
    CREDENTIALS,
    IGNITION_FRAGMENT,
    FileKind,
    NamedFileError,
    NamedFiles,
)
from strata.topology.os_releases import ReleaseError, highest_spec
from strata.topology.settings import IgnitionFragment
from strata.topology.spec import TopologySpec
from strata.topology.written import written_settings

__all__ = ["FragmentCheck", "check_named_files", "release_group"]

FragmentCheck = Callable[[Mapping[str, Any], str, str], Sequence[tuple[Path, str]]]
"""``(fragment, os name, os version) -> [(path inside the fragment, problem)]``: empty
when it is valid Ignition for that OS release. Messages never quote the fragment's values."""


def check_named_files(
    spec: TopologySpec,
    topology: Topology,
    diags: Diagnostics,
    files: NamedFiles,
    fragment_check: FragmentCheck | None = None,
) -> None:
    """Check every file the topology names, and every inline fragment, once."""
    reader = _Reader(files, diags)
    for i, credential in enumerate(spec.credentials):
        if credential.password.file is not None:
            path: Path = ("credentials", i, "password", "file")
            reader.read(path, credential.password.file, CREDENTIALS, password_from, quiet=True)
    oses = _fragment_oses(topology)
    named: dict[FsPath, list[_Use]] = {}
    for where, settings in written_settings(spec):
        fallback = getattr(settings.bmc, "fallback", None)  # a node's bmc may have one
        for at, bmc in (((*where, "bmc"), settings.bmc), ((*where, "bmc", "fallback"), fallback)):
            if bmc is not None and bmc.ca_bundle is not None:
                reader.read((*at, "caBundle"), bmc.ca_bundle, CA_BUNDLE, check_ca_bundle)
        for i, fragment in enumerate(settings.ignition or ()):
            use = _Use((*where, "ignition", i), fragment, oses.get(id(fragment), ()))
            if fragment.inline is not None:
                _inline(diags, use, fragment.inline, fragment_check)
                continue
            real = reader.resolve(use.at, use.name, IGNITION_FRAGMENT)
            if real is not None:
                named.setdefault(real, []).append(use)
    for uses in named.values():  # one file at a time: its parse is gone before the next
        _fragment_file(reader, uses, fragment_check)


@dataclass(frozen=True, slots=True)
class _Use:
    """A place that names a fragment, and the OS releases of the nodes it reaches."""

    path: Path  # ....ignition[i]
    fragment: IgnitionFragment
    releases: Sequence[tuple[str, str]]

    @property
    def at(self) -> Path:
        return (*self.path, "file")

    @property
    def name(self) -> str:
        return self.fragment.file or ""


class _Reader:
    """Reads each file once (by its real path) and reports what is wrong at ``path``."""

    def __init__(self, files: NamedFiles, diags: Diagnostics) -> None:
        self.files, self.diags = files, diags
        self.done: dict[FsPath, object] = {}

    def read(
        self,
        path: Path,
        name: str,
        kind: FileKind,
        check: Callable[[bytes, str], Any],
        *,
        quiet: bool = False,
    ) -> Any:
        """``check(contents, name)``'s result, or None after reporting why there is none.

        ``quiet``: a missing file is no finding (a secret is read at use).
        """
        try:
            real = self.files.resolve(name, kind)
            if real not in self.done:
                self.done[real] = self._checked(name, kind, check)
            result = self.done[real]
            if isinstance(result, NamedFileError):
                raise result
            return result
        except NamedFileError as exc:
            self.report(path, exc, quiet=quiet)
            return None

    def resolve(self, path: Path, name: str, kind: FileKind) -> FsPath | None:
        """Where ``name`` really is, or None after reporting why it may not be read."""
        try:
            return self.files.resolve(name, kind)
        except NamedFileError as exc:
            self.report(path, exc)
            return None

    def report(self, path: Path, exc: NamedFileError, *, quiet: bool = False) -> None:
        if exc.denied:
            self.diags.warning(path, exc.message, "Strata checks it again when it reads it")
        elif not (exc.missing and quiet):
            self.diags.error(path, exc.message, exc.hint)

    def _checked(self, name: str, kind: FileKind, check: Callable[[bytes, str], Any]) -> object:
        try:
            return check(self.files.read(name, kind), name)
        except NamedFileError as exc:
            return exc


def _inline(
    diags: Diagnostics, use: _Use, content: Mapping[str, Any], fragment_check: FragmentCheck | None
) -> None:
    """An inline fragment's problems, each at its own place in topology.yaml."""
    if fragment_check is None:
        return
    for os_name, os_version in use.releases:
        suffix = f" (for {os_name} {os_version} nodes)" if len(use.releases) > 1 else ""
        for inner, problem in fragment_check(content, os_name, os_version):
            diags.error((*use.path, "inline", *inner), problem + suffix)


def _fragment_file(
    reader: _Reader, uses: Sequence[_Use], fragment_check: FragmentCheck | None
) -> None:
    """Read, parse and check one fragment file for every place that names it; each problem
    is reported at each place, with its line and column inside the file."""
    first = uses[0]
    try:
        parsed = parse_fragment(reader.files.read(first.name, IGNITION_FRAGMENT), first.name)
    except NamedFileError as exc:
        for use in uses:
            reader.report(use.at, exc)
        return
    if fragment_check is None:
        return
    verdicts: dict[tuple[str, str], Sequence[tuple[Path, str]]] = {}
    for use in uses:
        for release in use.releases:
            if release not in verdicts:
                verdicts[release] = fragment_check(parsed.data, *release)
            suffix = f" (for {release[0]} {release[1]} nodes)" if len(use.releases) > 1 else ""
            for inner, problem in verdicts[release]:
                reader.diags.error(use.at, _in_file(use.name, parsed, inner, problem) + suffix)


def _in_file(name: str, parsed: Fragment, inner: Path, problem: str) -> str:
    place = format_path(inner) or "<fragment>"
    return f"Ignition fragment {parsed.where(name, inner)}: {place}: {problem}"


def _fragment_oses(topology: Topology) -> dict[int, tuple[tuple[str, str], ...]]:
    """For each fragment (by identity), the OS releases of the nodes it reaches, in a stable
    order: one release for each OS and Ignition spec (the first met), since a fragment's
    verdict depends on the spec its nodes read."""
    found: dict[int, dict[tuple[str, str], tuple[str, str]]] = {}
    specs: dict[tuple[str, str], str] = {}
    for node in topology.nodes:
        if not node.ignition:
            continue
        release = (node.os.name, node.os.version)
        if release not in specs:
            specs[release] = release_group(*release)[1]
        group = (node.os.name, specs[release])
        for fragment in node.ignition:
            found.setdefault(id(fragment), {}).setdefault(group, (node.os.name, node.os.version))
    return {key: tuple(releases.values()) for key, releases in found.items()}


def release_group(os_name: str, version: str) -> tuple[str, str]:
    """The OS and the Ignition spec its ``version`` reads: a fragment's verdict is the same
    for every release of one group (the version alone when no spec serves it)."""
    try:
        return os_name, highest_spec(os_name, version)
    except ReleaseError:
        return os_name, version  # nothing can serve it: os_rules reports the release
