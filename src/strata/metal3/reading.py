"""Reading BareMetalHosts (and credential Secrets, and the Cluster API objects an export
writes) from YAML files, every fault located as ``file:line:column``.

The objects are read as the BareMetalHost CRD (metal3.io/v1alpha1) and the Secret API
(v1) define them; ``data`` is base64 (RFC 4648), ``stringData`` plain text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from strata.errors import StrataError
from strata.topology.parse_errors import StrictConstructor, yaml_fault

__all__ = ["Host", "ImportError_", "Inputs", "read_inputs"]

# Kinds an export writes beside the hosts: read for the layers, else passed over.
CLUSTER_KINDS = {
    "Cluster",
    "Metal3Cluster",
    "KubeadmControlPlane",
    "Metal3MachineTemplate",
    "KubeadmConfigTemplate",
    "MachineDeployment",
}


class ImportError_(StrataError):
    """An input Strata cannot read as BareMetalHosts: the message starts file:line:column."""

    kind = "metal3-import"


@dataclass(frozen=True, slots=True)
class Host:
    """One BareMetalHost: its name, labels and spec as written, and where it is."""

    name: str
    labels: dict[str, str]
    spec: dict[str, Any]
    place: str  # file:line:column of the object


@dataclass
class Inputs:
    hosts: list[Host] = field(default_factory=list)
    usernames: dict[str, str | None] = field(default_factory=dict)  # Secret -> username
    clusters: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )  # kind -> name -> obj


def read_inputs(files: Iterable[tuple[str, str]]) -> Inputs:
    """``files``: (name, text) pairs. Raises ``ImportError_`` at the first fault."""
    inputs = Inputs()
    seen: dict[str, str] = {}
    for name, text in files:
        for document in _documents(name, text):
            _take(inputs, seen, name, document)
    if not inputs.hosts:
        raise ImportError_("no BareMetalHost in the input")
    return inputs


def _documents(name: str, text: str) -> list[Any]:
    loader = YAML(typ="rt", pure=True)
    loader.Constructor = StrictConstructor
    try:
        documents = [d for d in loader.load_all(text) if d is not None]
    except YAMLError as exc:
        phrase, line, column = yaml_fault(exc, text)
        raise ImportError_(f"{name}:{line}:{column}: {phrase}") from None
    out: list[Any] = []
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "List":
            out.extend(document.get("items") or [])
        else:
            out.append(document)
    return out


def _where(name: str, node: Any, key: str | None = None) -> str:
    """``file:line:column`` of ``node`` (of its ``key`` when given), 1-based."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return f"{name}:1:1"
    if key is not None and isinstance(node, dict) and key in node:
        line, column = lc.key(key)
    else:
        line, column = lc.line, lc.col
    return f"{name}:{line + 1}:{column + 1}"


def _fail(name: str, node: Any, key: str | None, message: str) -> ImportError_:
    return ImportError_(f"{_where(name, node, key)}: {message}")


def _take(inputs: Inputs, seen: dict[str, str], name: str, document: Any) -> None:
    if not isinstance(document, dict):
        raise _fail(name, document, None, "not a Kubernetes object (a mapping with kind)")
    kind = document.get("kind")
    if kind == "Secret":
        _secret(inputs, name, document)
    elif kind in CLUSTER_KINDS:
        metadata = document.get("metadata") or {}
        inputs.clusters.setdefault(str(kind), {})[str(metadata.get("name"))] = _plain(document)
    elif kind != "BareMetalHost":
        shown = kind if isinstance(kind, str) else None
        raise _fail(
            name,
            document,
            "kind" if shown else None,
            f"a {shown} is not a BareMetalHost (metal3.io/v1alpha1)"
            if shown
            else "not a Kubernetes object: it has no kind",
        )
    else:
        host = _host(name, document)
        if host.name in seen:
            raise _fail(
                name,
                document["metadata"],
                "name",
                f"BareMetalHost {host.name} is written twice (first at {seen[host.name]})",
            )
        seen[host.name] = host.place
        inputs.hosts.append(host)


def _host(name: str, document: dict[str, Any]) -> Host:
    api = document.get("apiVersion")
    if api != "metal3.io/v1alpha1":
        raise _fail(name, document, "apiVersion", f"apiVersion {api} is not metal3.io/v1alpha1")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise _fail(name, document, "metadata", "the BareMetalHost has no metadata.name")
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise _fail(
            name, document, "spec" if "spec" in document else None, "the BareMetalHost has no spec"
        )
    bmc = spec.get("bmc")
    if not isinstance(bmc, dict) or not isinstance(bmc.get("address"), str) or not bmc["address"]:
        target, key = (
            (bmc, None) if isinstance(bmc, dict) else (spec, "bmc" if "bmc" in spec else None)
        )
        raise _fail(name, target, key, f"BareMetalHost {metadata['name']} has no spec.bmc.address")
    labels = metadata.get("labels") or {}
    return Host(
        name=metadata["name"],
        labels={str(k): str(v) for k, v in labels.items()},
        spec=_plain(spec),
        place=_where(name, document),
    )


def _secret(inputs: Inputs, name: str, document: dict[str, Any]) -> None:
    metadata = document.get("metadata") or {}
    secret = metadata.get("name")
    if not isinstance(secret, str):
        raise _fail(name, document, "metadata", "the Secret has no metadata.name")
    data = document.get("data") or {}
    plain = document.get("stringData") or {}
    username: str | None = None
    if isinstance(plain, dict) and isinstance(plain.get("username"), str):
        username = plain["username"]
    elif isinstance(data, dict) and isinstance(data.get("username"), str):
        try:
            username = base64.b64decode(data["username"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _fail(
                name, data, "username", f"Secret {secret}: data.username is not base64 text"
            ) from None
    inputs.usernames[secret] = username  # the password is never read


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
