"""Rules about the files topology.yaml names: passwords, Ignition fragments, CA bundles.

Each file is read once through ``named_files`` (inside the allowed directories, a
regular file, bounded) and its contents checked by ``file_contents`` — the same code
that reads it again at use. A password file that is not there is no finding: secrets
are read when Strata uses them, as an environment variable is; its path must still be
one Strata may read. Ignition fragments are checked as Ignition for the OS of every
node that receives them — once per OS and Ignition spec its release reads
(``os_releases``) — by a ``FragmentCheck`` the caller supplies (the Ignition rules live
in ``strata.ignition``, above this package).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
from strata.topology.rules import written_settings
from strata.topology.settings import IgnitionFragment
from strata.topology.spec import TopologySpec

__all__ = ["FragmentCheck", "check_named_files"]

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
    for where, settings in written_settings(spec):
        if settings.bmc is not None and settings.bmc.ca_bundle is not None:
            path = (*where, "bmc", "caBundle")
            reader.read(path, settings.bmc.ca_bundle, CA_BUNDLE, check_ca_bundle)
        for i, fragment in enumerate(settings.ignition or ()):
            at: Path = (*where, "ignition", i)
            _fragment(reader, at, fragment, oses.get(id(fragment), ()), fragment_check)


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
            if exc.denied:
                self.diags.warning(path, exc.message, "Strata checks it again when it reads it")
            elif not (exc.missing and quiet):
                self.diags.error(path, exc.message, exc.hint)
            return None

    def _checked(self, name: str, kind: FileKind, check: Callable[[bytes, str], Any]) -> object:
        try:
            return check(self.files.read(name, kind), name)
        except NamedFileError as exc:
            return exc


def _fragment(
    reader: _Reader,
    path: Path,
    fragment: IgnitionFragment,
    oses: Sequence[tuple[str, str]],
    fragment_check: FragmentCheck | None,
) -> None:
    if fragment.inline is not None:
        content, at, parsed = fragment.inline, (*path, "inline"), None
    else:
        assert fragment.file is not None
        at = (*path, "file")
        parsed = reader.read(at, fragment.file, IGNITION_FRAGMENT, parse_fragment)
        if parsed is None:
            return
        content = parsed.data
    if fragment_check is None:
        return
    for os_name, os_version in oses:
        suffix = f" (for {os_name} {os_version} nodes)" if len(oses) > 1 else ""
        for inner, problem in fragment_check(content, os_name, os_version):
            if parsed is None:  # inline: the problem has a place in topology.yaml
                reader.diags.error((*at, *inner), problem + suffix)
            else:
                reader.diags.error(
                    at, _in_file(fragment.file or "", parsed, inner, problem) + suffix
                )


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
            specs[release] = _spec(*release)
        group = (node.os.name, specs[release])
        for fragment in node.ignition:
            found.setdefault(id(fragment), {}).setdefault(group, (node.os.name, node.os.version))
    return {key: tuple(releases.values()) for key, releases in found.items()}


def _spec(os_name: str, version: str) -> str:
    try:
        return highest_spec(os_name, version)
    except ReleaseError:
        return version  # nothing can serve it: os_rules reports the release
