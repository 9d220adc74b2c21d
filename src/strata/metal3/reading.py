"""Reading BareMetalHosts (and credential Secrets, and the Cluster API objects an export
writes) from YAML files, every fault located as ``file:line:column``.

The objects are read as the BareMetalHost CRD (metal3.io/v1alpha1) and the Secret API
(v1) define them; ``data`` is base64 (RFC 4648), ``stringData`` plain text. Every value
taken from the input is checked for its shape (mapping, list, string, boolean, integer)
before it is used: a wrong one is a located error, never a crash.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from strata.metal3.shapes import ImportError_, Source, check_spec, mapping, string
from strata.topology.parse_errors import StrictConstructor, yaml_fault

__all__ = ["CapiObject", "Host", "ImportError_", "Inputs", "Source", "read_inputs"]

# Kinds an export writes beside the hosts: read for the layers, else passed over.
CLUSTER_KINDS = {
    "Cluster",
    "Metal3Cluster",
    "KubeadmControlPlane",
    "Metal3MachineTemplate",
    "KubeadmConfigTemplate",
    "MachineDeployment",
}


@dataclass(frozen=True, slots=True)
class Host:
    """One BareMetalHost: its name, labels and spec as written, and where it is
    (``source.at(path)`` locates any of its fields)."""

    name: str
    labels: dict[str, str]
    spec: dict[str, Any]
    source: Source = field(compare=False, repr=False)

    @property
    def place(self) -> str:
        return self.source.at(())


@dataclass(frozen=True, slots=True)
class CapiObject:
    """A Cluster API object as written (plain dicts), and where it is."""

    body: dict[str, Any]
    source: Source = field(compare=False, repr=False)


@dataclass
class Inputs:
    hosts: list[Host] = field(default_factory=list)
    usernames: dict[str, str | None] = field(default_factory=dict)  # Secret -> username
    secrets: dict[str, Source] = field(default_factory=dict)  # Secret -> where
    clusters: dict[str, dict[str, CapiObject]] = field(default_factory=dict)  # kind -> name


def read_inputs(files: Iterable[tuple[str, str]]) -> Inputs:
    """``files``: (name, text) pairs. Raises ``ImportError_`` at the first fault."""
    inputs = Inputs()
    seen: dict[str, str] = {}
    for name, text in files:
        for source in _documents(name, text):
            _take(inputs, seen, source)
    if not inputs.hosts:
        raise ImportError_("no BareMetalHost in the input")
    return inputs


def _documents(name: str, text: str) -> list[Source]:
    """Every object of the file, a ``kind: List``'s items one by one, each with a place
    (scalars, which carry none, get their document's or list item's)."""
    loader = YAML(typ="rt", pure=True)
    loader.Constructor = StrictConstructor
    pairs: list[tuple[Any, Any]] = []
    try:
        constructor, _ = loader.get_constructor_parser(text)
        composer = loader.composer
        while composer.check_node():
            node = composer.get_node()
            pairs.append((node, constructor.construct_document(node)))
    except YAMLError as exc:
        phrase, line, column = yaml_fault(exc, text)
        raise ImportError_(f"{name}:{line}:{column}: {phrase}") from None
    out: list[Source] = []
    for node, document in pairs:
        if document is None:
            continue
        mark = (node.start_mark.line + 1, node.start_mark.column + 1)
        source = Source(name, document, mark)
        if isinstance(document, dict) and document.get("kind") == "List":
            items = document.get("items")
            if items is None:
                continue
            if not isinstance(items, list):
                raise source.fail(("items",), "a List's items are not a list")
            out.extend(_item(source, items, i) for i in range(len(items)))
        else:
            out.append(source)
    return out


def _item(source: Source, items: Any, index: int) -> Source:
    line, column = items.lc.item(index)
    return Source(source.file, items[index], (line + 1, column + 1))


def _take(inputs: Inputs, seen: dict[str, str], source: Source) -> None:
    document = source.node
    if not isinstance(document, dict):
        raise source.fail((), "not a Kubernetes object (a mapping with kind)")
    kind = document.get("kind")
    if kind == "Secret":
        _secret(inputs, source)
    elif kind in CLUSTER_KINDS:
        name = _name(source, str(kind))
        inputs.clusters.setdefault(str(kind), {})[name] = CapiObject(_plain(document), source)
    elif kind != "BareMetalHost":
        if isinstance(kind, str):
            raise source.fail(("kind",), f"a {kind} is not a BareMetalHost (metal3.io/v1alpha1)")
        raise source.fail((), "not a Kubernetes object: it has no kind (a string)")
    else:
        name = _name(source, "BareMetalHost")
        if name in seen:
            raise source.fail(
                ("metadata", "name"),
                f"BareMetalHost {name} is written twice (first at {seen[name]})",
            )
        host = _host(source)
        seen[host.name] = host.place
        inputs.hosts.append(host)


def _name(source: Source, kind: str) -> str:
    """``metadata.name``, a string."""
    metadata = mapping(source, ("metadata",), f"the {kind}'s metadata", required=True)
    name = string(source, ("metadata", "name"), f"the {kind}'s metadata.name", required=True)
    assert metadata is not None and name is not None
    return name


def _host(source: Source) -> Host:
    api = source.node.get("apiVersion")
    if api != "metal3.io/v1alpha1":
        raise source.fail(("apiVersion",), f"apiVersion {api} is not metal3.io/v1alpha1")
    name = _name(source, "BareMetalHost")
    labels = mapping(source, ("metadata", "labels"), f"BareMetalHost {name}'s metadata.labels")
    for key in labels or {}:
        what = f"BareMetalHost {name}'s label {key}"
        string(source, ("metadata", "labels", key), what, required=True)
    spec = mapping(source, ("spec",), f"BareMetalHost {name}'s spec", required=True)
    assert spec is not None
    check_spec(source, name)
    return Host(
        name=name,
        labels={str(k): str(v) for k, v in (labels or {}).items()},
        spec=_plain(spec),
        source=source,
    )


def _secret(inputs: Inputs, source: Source) -> None:
    secret = _name(source, "Secret")
    data = mapping(source, ("data",), f"Secret {secret}'s data") or {}
    plain = mapping(source, ("stringData",), f"Secret {secret}'s stringData") or {}
    username: str | None = None
    if "username" in plain:
        username = string(source, ("stringData", "username"), f"Secret {secret}'s username")
    elif "username" in data:
        encoded = string(source, ("data", "username"), f"Secret {secret}'s data.username")
        try:
            username = base64.b64decode(encoded or "", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise source.fail(
                ("data", "username"), f"Secret {secret}: data.username is not base64 text"
            ) from None
    inputs.usernames[secret] = username  # the password is never read
    inputs.secrets[secret] = source


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
