"""Credentials are resolved at the moment of use and never shown."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from strata.bmc.credentials import CredentialsError, Secret, resolve_credentials
from strata.topology.spec import CredentialSpec


def spec(password: dict[str, object]) -> CredentialSpec:
    return CredentialSpec.model_validate({"name": "dc", "username": "root", "password": password})


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BMC_PW", "hunter2")
    credentials = resolve_credentials(spec({"env": "BMC_PW"}))
    assert (credentials.username, credentials.password.reveal()) == ("root", "hunter2")


def test_a_missing_variable_is_named_not_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BMC_PW", raising=False)
    with pytest.raises(CredentialsError, match="environment variable BMC_PW is not set"):
        resolve_credentials(spec({"env": "BMC_PW"}))


def test_from_a_file_relative_to_the_topology(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "pw").chmod(0o600)
    assert resolve_credentials(spec({"file": "pw"}), tmp_path).password.reveal() == "s3cret"


def test_a_world_readable_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret")
    (tmp_path / "pw").chmod(0o644)
    with pytest.raises(CredentialsError, match="world-readable") as caught:
        resolve_credentials(spec({"file": str(tmp_path / "pw")}))
    assert "s3cret" not in str(caught.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read"):
        resolve_credentials(spec({"file": "nope"}), tmp_path)


def test_a_kubernetes_secret_needs_the_in_cluster_controller() -> None:
    with pytest.raises(CredentialsError, match="in-cluster"):
        resolve_credentials(spec({"secret": {"name": "bmc", "key": "password"}}))


def test_a_secret_never_shows_itself() -> None:
    secret = Secret("hunter2")
    assert (
        "hunter2" not in repr(secret)
        and "hunter2" not in str(secret)
        and "hunter2" not in f"{secret}"
    )
    with pytest.raises(TypeError):
        pickle.dumps(secret)
