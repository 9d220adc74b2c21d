"""Credentials are resolved at the moment of use and never shown."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from strata.bmc.credentials import CredentialsError, Secret, resolve_credentials
from strata.topology.named_files import ALLOWED_DIRS_ENV
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
    with pytest.raises(CredentialsError, match="open to group or others") as caught:
        resolve_credentials(spec({"file": "pw"}), tmp_path)
    assert "s3cret" not in str(caught.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="does not exist"):
        resolve_credentials(spec({"file": "nope"}), tmp_path)


def test_a_file_needs_the_topologys_directory(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="relative to the topology's directory"):
        resolve_credentials(spec({"file": str(tmp_path / "pw")}))


# The same refusals as at `strata validate` (tests/unit/topology/test_named_files.py),
# made again when the password is read: `strata bmc … status` never sends a file it
# may not read to a BMC.


@pytest.fixture
def dc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)
    (tmp_path / "dc").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "pw").write_text("from-outside\n")
    (tmp_path / "outside" / "pw").chmod(0o600)
    return tmp_path / "dc"


def refused(dc: Path, name: str) -> str:
    with pytest.raises(CredentialsError) as caught:
        resolve_credentials(spec({"file": name}), dc)
    message = str(caught.value)
    assert message.startswith("credentials dc: ")
    assert "from-outside" not in message and "root:" not in message
    return message


def test_etc_shadow_is_never_read(dc: Path) -> None:
    assert "'/etc/shadow' is outside the topology's directory" in refused(dc, "/etc/shadow")
    assert "is outside" in refused(dc, "../../../../etc/shadow")


def test_a_link_leading_out_is_not_followed_out(dc: Path) -> None:
    (dc / "pw").symlink_to(dc.parent / "outside" / "pw")
    assert "it resolves to" in refused(dc, "pw")


def test_a_device_fifo_or_directory_is_not_read(dc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_DIRS_ENV, "/dev")
    assert "is a character device" in refused(dc, "/dev/zero")
    os.mkfifo(dc / "fifo", 0o600)
    assert "is a FIFO" in refused(dc, "fifo")
    (dc / "dir").mkdir()
    assert "is a directory" in refused(dc, "dir")


def test_an_oversize_file_is_not_read(dc: Path) -> None:
    (dc / "pw").write_text("x" * 100_000)
    (dc / "pw").chmod(0o600)
    assert "the limit is 4,096" in refused(dc, "pw")


def test_two_lines_are_refused_one_line_is_read(dc: Path) -> None:
    (dc / "pw").write_text("s3cret\nsecond line\n")
    (dc / "pw").chmod(0o600)
    assert "holds more than one line" in refused(dc, "pw")
    for text in ("s3cret", "s3cret\n", "s3cret\r\n"):
        (dc / "pw").write_text(text)
        assert resolve_credentials(spec({"file": "pw"}), dc).password.reveal() == "s3cret"


def test_a_group_readable_file_is_refused(dc: Path) -> None:
    (dc / "pw").write_text("s3cret\n")
    (dc / "pw").chmod(0o640)
    message = refused(dc, "pw")
    assert "open to group or others (mode 0640)" in message and "s3cret" not in message


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
