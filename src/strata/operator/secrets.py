"""The in-cluster controller's reader of BMC passwords kept in Kubernetes Secrets.

A credentials entry's ``password: {secret: {name, namespace?, key}}`` is read through
the controller's own API client (its ServiceAccount needs ``get`` on Secrets there):
the Secret in the reference's namespace, else the Topology's. ``data`` values are
base64 (Kubernetes API, core/v1 Secret); one trailing newline, which
``kubectl create secret --from-file`` keeps from a file written by ``echo``, is dropped.
Errors name the Secret and key, never a value.
"""

from __future__ import annotations

import base64
import binascii

import httpx2  # lightkube's HTTP client, a fork of httpx with its own exceptions
from lightkube import ApiError, Client
from lightkube.resources.core_v1 import Secret

from strata.bmc.credentials import CredentialsError, SecretReader
from strata.topology.fields import KubernetesSecretKey

__all__ = ["secret_reader"]


def secret_reader(client: Client, namespace: str) -> SecretReader:
    """A ``SecretReader`` (``strata.bmc.credentials``) reading through ``client``;
    ``namespace``: the Topology's, for a reference that names none. Each call reads the
    Secret anew (a rotated password is seen by the next BMC session)."""

    def read(ref: KubernetesSecretKey) -> str:
        where = f"{ref.namespace or namespace}/{ref.name}"
        try:
            secret = client.get(Secret, ref.name, namespace=ref.namespace or namespace)
        except ApiError as exc:
            raise CredentialsError(_refused(where, exc.status.code, exc.status.reason)) from None
        except httpx2.HTTPError as exc:
            raise CredentialsError(
                f"Kubernetes Secret {where} could not be read: {type(exc).__name__}"
            ) from None
        data = secret.data or {}
        if ref.key not in data:
            keys = ", ".join(sorted(data)) or "none"
            raise CredentialsError(
                f"Kubernetes Secret {where} has no key {ref.key} (its keys: {keys})"
            )
        try:
            text = base64.b64decode(data[ref.key], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsError(
                f"Kubernetes Secret {where}: key {ref.key} is not UTF-8 text"
            ) from None
        text = text.removesuffix("\n").removesuffix("\r")
        if not text or "\n" in text:
            raise CredentialsError(
                f"Kubernetes Secret {where}: key {ref.key} must hold the password on one line"
            )
        return text

    return read


def _refused(where: str, code: int | None, reason: str | None) -> str:
    if code == 404:
        return f"Kubernetes Secret {where} not found"
    if code == 403:
        return (
            f"Kubernetes Secret {where}: the controller may not read it (forbidden); "
            "grant its ServiceAccount get on secrets in that namespace"
        )
    return f"Kubernetes Secret {where} could not be read: {code} {reason or ''}".rstrip()
