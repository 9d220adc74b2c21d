"""Resolve a credentials reference from topology.yaml at the moment of use.

The password lives in an environment variable, a file or a Kubernetes
Secret; it is read when a BMC session opens and held in a ``Secret`` whose
``repr`` and ``str`` never show it. A Kubernetes Secret is read by the
``SecretReader`` the caller passes (the in-cluster controller's reads it through its
API client, ``strata.operator.secrets``); without one it is refused, as on a
workstation. A file goes through the same reader and
checks as at ``strata validate`` (``strata.topology.named_files``): inside the
topology's directory (or an allowed one), a regular file, owner-only, one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.topology.fields import KubernetesSecretKey, SecretRef
from strata.topology.file_contents import password_from
from strata.topology.named_files import CREDENTIALS, NamedFileError, NamedFiles
from strata.topology.spec import CredentialSpec

__all__ = [
    "Credentials",
    "CredentialsError",
    "Secret",
    "SecretReader",
    "refuse_kubernetes_secret",
    "resolve_credentials",
]


class CredentialsError(StrataError):
    """The reference cannot be resolved; the message names the reference, not the value."""

    kind = "credentials"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a Secret is not pickled")


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: Secret


SecretReader = Callable[[KubernetesSecretKey], str]
"""Reads one key of a Kubernetes Secret: the value as text. Raises ``CredentialsError``
whose message names the Secret (and key), never the value."""


def refuse_kubernetes_secret(ref: KubernetesSecretKey) -> str:
    """The ``SecretReader`` outside a cluster: always raises ``CredentialsError``."""
    raise CredentialsError(
        f"Kubernetes Secret {ref.name} can only be read by the in-cluster controller; "
        "in bootstrap mode use env or file"
    )


def resolve_credentials(
    spec: CredentialSpec,
    base_dir: Path | None = None,
    read_secret: SecretReader = refuse_kubernetes_secret,
) -> Credentials:
    """The entry's user name and password. ``base_dir``: the topology's directory, which a
    file reference needs; ``read_secret``: how a Kubernetes Secret reference is read
    (default: refused). Raises ``CredentialsError`` naming the entry and the reference,
    never the value."""
    password = _read(spec.name, spec.password, base_dir, read_secret)
    return Credentials(spec.username, Secret(password))


def _read(name: str, ref: SecretRef, base_dir: Path | None, read_secret: SecretReader) -> str:
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise CredentialsError(f"credentials {name}: environment variable {ref.env} is not set")
        return value
    if ref.file is not None:
        if base_dir is None:
            raise CredentialsError(
                f"credentials {name}: a file is read relative to the topology's directory, "
                "and none was given"
            )
        try:
            return password_from(NamedFiles.beside(base_dir).read(ref.file, CREDENTIALS), ref.file)
        except NamedFileError as exc:
            raise CredentialsError(f"credentials {name}: {exc}") from None
    assert ref.secret is not None
    try:
        return read_secret(ref.secret)
    except CredentialsError as exc:
        raise CredentialsError(f"credentials {name}: {exc}") from None
