"""Resolve a credentials reference from topology.yaml at the moment of use.

The password lives in an environment variable, a file or a Kubernetes
Secret; it is read when a BMC session opens and held in a ``Secret`` whose
``repr`` and ``str`` never show it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.topology.fields import SecretRef
from strata.topology.spec import CredentialSpec

__all__ = ["Credentials", "CredentialsError", "Secret", "resolve_credentials"]


class CredentialsError(Exception):
    """The reference cannot be resolved; the message names the reference, not the value."""


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
    return Credentials(spec.username, Secret(_read(spec.name, spec.password, base_dir)))


def _read(name: str, ref: SecretRef, base_dir: Path | None) -> str:
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise CredentialsError(f"credentials {name}: environment variable {ref.env} is not set")
        return value
    if ref.file is not None:
        path = Path(ref.file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            mode = path.stat().st_mode
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CredentialsError(
                f"credentials {name}: cannot read {path}: {exc.strerror}"
            ) from None
        if mode & stat.S_IROTH:
            raise CredentialsError(f"credentials {name}: {path} is world-readable; chmod 600 it")
        return value
    assert ref.secret is not None
    raise CredentialsError(
        f"credentials {name}: Kubernetes Secret {ref.secret.name} can only be read by "
        "the in-cluster controller; in bootstrap mode use env or file"
    )
