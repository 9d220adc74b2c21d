"""Where a value of an input document is, and whether it has the shape its API gives it.

A ``Source`` is one object of an input file (a document, or a ``kind: List``'s item) as
ruamel.yaml read it, with its place; ``at(path)`` locates any field of it as
``file:line:column`` (1-based; the nearest enclosing field that is there when the path
is not). ``check_spec`` checks a BareMetalHost's spec against the shapes of the
BareMetalHost CRD (metal3.io/v1alpha1, config/base/crds/bases/metal3.io_baremetalhosts.yaml):
every field Strata reads, so that no later step meets a list where it wants a mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strata.errors import StrataError

__all__ = ["BOOT_MODES", "ImportError_", "Source", "check_spec", "mapping", "string"]

Path = Sequence[str | int]
BOOT_MODES = ("UEFI", "UEFISecureBoot", "legacy")  # the CRD's enum
_STRING_HINTS = (
    "deviceName",
    "hctl",
    "model",
    "vendor",
    "serialNumber",
    "wwn",
    "wwnWithExtension",
    "wwnVendorExtension",
)


class ImportError_(StrataError):
    """An input Strata cannot read as BareMetalHosts: each line starts file:line:column."""

    kind = "metal3-import"


@dataclass(frozen=True, slots=True)
class Source:
    file: str
    node: Any  # ruamel's CommentedMap (or a scalar, for a bad document)
    mark: tuple[int, int]  # line, column of the object, 1-based

    def get(self, path: Path) -> tuple[bool, Any]:
        """(whether the field is there, its value)."""
        node = self.node
        for key in path:
            if not _has(node, key):
                return False, None
            node = node[key]
        return True, node

    def at(self, path: Path) -> str:
        """``file:line:column`` of the field at ``path`` (or of the deepest one there)."""
        line, column = self.mark
        node = self.node
        for key in path:
            lc = getattr(node, "lc", None)
            if isinstance(node, dict) and key in node and lc is not None:
                line, column = (n + 1 for n in lc.key(key))
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                line, column = (n + 1 for n in lc.item(key)) if lc is not None else (line, column)
            else:
                break
            node = node[key]
        return f"{self.file}:{line}:{column}"

    def fail(self, path: Path, message: str) -> ImportError_:
        return ImportError_(f"{self.at(path)}: {message}")


def _has(node: Any, key: str | int) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)


def mapping(
    source: Source, path: Path, what: str, *, required: bool = False
) -> dict[str, Any] | None:
    """The mapping at ``path``; None when absent (an error when ``required``)."""
    there, value = source.get(path)
    if not there or value is None:
        if required:
            raise source.fail(path, f"{what} is missing")
        return None
    if not isinstance(value, dict):
        raise source.fail(path, f"{what} is not a mapping")
    return value


def string(source: Source, path: Path, what: str, *, required: bool = False) -> str | None:
    """The string at ``path``; None when absent (an error when ``required``)."""
    there, value = source.get(path)
    if not there or value is None:
        if required:
            raise source.fail(path, f"{what} is missing")
        return None
    if not isinstance(value, str):
        raise source.fail(path, f"{what} is not a string (it is {_kind(value)})")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _boolean(source: Source, path: Path, what: str) -> None:
    there, value = source.get(path)
    if there and value is not None and not isinstance(value, bool):
        raise source.fail(path, f"{what} is not a boolean (it is {_kind(value)})")


def check_spec(source: Source, host: str) -> None:
    """Raise ``ImportError_`` at the first field of the host's spec of a wrong shape."""
    where = f"BareMetalHost {host}:"
    mapping(source, ("spec", "bmc"), f"{where} spec.bmc", required=True)
    address = string(source, ("spec", "bmc", "address"), f"{where} spec.bmc.address", required=True)
    if not address:
        raise source.fail(("spec", "bmc", "address"), f"{where} spec.bmc.address is empty")
    string(source, ("spec", "bmc", "credentialsName"), f"{where} spec.bmc.credentialsName")
    _boolean(
        source,
        ("spec", "bmc", "disableCertificateVerification"),
        f"{where} spec.bmc.disableCertificateVerification",
    )
    _boot_mac(source, where)
    mode = string(source, ("spec", "bootMode"), f"{where} spec.bootMode")
    if mode is not None and mode not in BOOT_MODES:
        raise source.fail(
            ("spec", "bootMode"), f"{where} bootMode {mode!r} is not one of {', '.join(BOOT_MODES)}"
        )
    for flag in ("online", "externallyProvisioned"):
        _boolean(source, ("spec", flag), f"{where} spec.{flag}")
    _hints(source, where)


def _boot_mac(source: Source, where: str) -> None:
    path = ("spec", "bootMACAddress")
    there, value = source.get(path)
    if not there or value is None:
        raise source.fail(
            ("spec",),
            f"{where[:-1]} has no spec.bootMACAddress: Strata boots and knows a server by the "
            "MAC it boots from; write it",
        )
    if not isinstance(value, str):
        raise source.fail(
            path,
            f"{where} spec.bootMACAddress is not a string (it is {_kind(value)}; YAML 1.1 "
            'reads an unquoted 52:54:… as a number: quote it, "52:54:00:00:00:01")',
        )


def _hints(source: Source, where: str) -> None:
    hints = mapping(source, ("spec", "rootDeviceHints"), f"{where} spec.rootDeviceHints")
    for key in _STRING_HINTS:
        string(source, ("spec", "rootDeviceHints", key), f"{where} rootDeviceHints.{key}")
    _boolean(
        source, ("spec", "rootDeviceHints", "rotational"), f"{where} rootDeviceHints.rotational"
    )
    size = (hints or {}).get("minSizeGigabytes")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise source.fail(
            ("spec", "rootDeviceHints", "minSizeGigabytes"),
            f"{where} rootDeviceHints.minSizeGigabytes {size!r} is not a whole number >= 0",
        )
