"""What the API server, Metal3 and Cluster API refuse in the objects an export writes,
found before anything is printed.

- Label values (Kubernetes API conventions, "Syntax and character set" of labels,
  apimachinery validation.IsValidLabelValue): at most 63 characters, empty or
  alphanumeric at both ends with ``-``, ``_``, ``.`` between. Checked in every
  ``metadata.labels``, ``matchLabels`` and ``hostSelector`` of every object.
- A namespace is a DNS label (RFC 1123): lowercase alphanumerics and ``-``, at most 63.
- ``--image-base`` is an ``http://`` or ``https://`` URL with a host: Ironic downloads
  the image from it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

__all__ = ["bad_labels", "bad_namespace", "bad_url", "short_label"]

MAX_LABEL = 63
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_LABEL_MAPS = ("labels", "matchLabels")


def short_label(value: str) -> str:
    """``value`` if it is a valid label value's length, else its first characters and
    ``-`` and 8 hex digits of its SHA-256: deterministic, unique in practice, at most 63."""
    if len(value) <= MAX_LABEL:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{value[: MAX_LABEL - 9].rstrip('-_.')}-{digest}"


def bad_labels(documents: list[dict[str, Any]]) -> list[str]:
    """One line per invalid label value: the label, why, and the objects carrying it
    (the first named, the others counted)."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for document in documents:
        name = str(document.get("metadata", {}).get("name"))
        for key, value in _labels(document):
            if len(value) > MAX_LABEL or _LABEL_VALUE.fullmatch(value) is None:
                found.setdefault((str(document.get("kind")), key, value), []).append(name)
    problems = []
    for (kind, key, value), names in found.items():
        who = f"{kind} {names[0]}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")
        why = (
            f"is {len(value)} characters; Kubernetes takes at most {MAX_LABEL} in a label value"
            if len(value) > MAX_LABEL
            else "is not a valid label value"
        )
        problems.append(f"{who}: label {key}={value} {why}")
    return problems


def _labels(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _LABEL_MAPS and isinstance(item, dict):
                yield from ((str(k), str(v)) for k, v in item.items())
            else:
                yield from _labels(item)
    elif isinstance(value, list):
        for item in value:
            yield from _labels(item)


def bad_namespace(namespace: str | None) -> str | None:
    if namespace is None or (len(namespace) <= MAX_LABEL and _DNS_LABEL.fullmatch(namespace)):
        return None
    return (
        f"namespace {namespace!r} is not a DNS label (lowercase letters, digits and '-', "
        f"at most {MAX_LABEL} characters)"
    )


def bad_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    return f"--image-base {url!r} is not an http:// or https:// URL with a host"
