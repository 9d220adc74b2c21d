"""Resolve a credentials reference from topology.yaml at the moment of use.

The password lives in an environment variable, a file or a Kubernetes
Secret; it is read when a BMC session opens and held in a ``Secret`` whose
``repr`` and ``str`` never show it. A file goes through the same reader and
checks as at ``strata validate`` (``strata.topology.named_files``): inside the
topology's directory (or an allowed one), a regular file, owner-only, one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.topology.fields import SecretRef
from strata.topology.file_contents import password_from
from strata.topology.named_files import CREDENTIALS, NamedFileError, NamedFiles
from strata.topology.spec import CredentialSpec

__all__ = ["Credentials", "CredentialsError", "Secret", "resolve_credentials"]


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


def resolve_credentials(spec: CredentialSpec, base_dir: Path | None = None) -> Credentials:
    """The entry's user name and password. ``base_dir``: the topology's directory, which a
    file reference needs. Raises ``CredentialsError``, naming the reference, not the value."""
    return Credentials(spec.username, Secret(_read(spec.name, spec.password, base_dir)))


def _read(name: str, ref: SecretRef, base_dir: Path | None) -> str:
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
    raise CredentialsError(
        f"credentials {name}: Kubernetes Secret {ref.secret.name} can only be read by "
        "the in-cluster controller; in bootstrap mode use env or file"
    )
