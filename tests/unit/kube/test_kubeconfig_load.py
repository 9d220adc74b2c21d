"""strata.kube.kubeconfig_load: a kubeconfig that cannot be used is one located
refusal, and never quotes what the file holds (its lines hold tokens)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.kube.kubeconfig_load import KubeconfigRefused, load_kubeconfig

TOKEN = "SECRETTOKEN0123456789abcdef"
GOOD = f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:6443"}}
users:
- name: u
  user:
    token: {TOKEN}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
"""


def _refusal(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "kubeconfig"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(KubeconfigRefused) as raised:
        load_kubeconfig(path)
    said = str(raised.value)
    assert said.startswith(f"{path}: ") and TOKEN not in said and "\n" not in said
    return said


def test_a_usable_kubeconfig_gives_its_context(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(GOOD)
    assert load_kubeconfig(path).get().cluster.server == "https://127.0.0.1:6443"


def test_a_yaml_error_is_located_and_quotes_nothing(tmp_path: Path) -> None:
    broken = GOOD.replace(f"token: {TOKEN}", f"token: {TOKEN}: x")
    assert "not YAML at line 9, column" in _refusal(tmp_path, broken)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", "it is not a mapping"),
        ("users: 5", "it has no clusters"),
        (GOOD.replace("current-context: x", "current-context: y"), "current-context y is not"),
        (GOOD.replace("cluster: c, user", "cluster: d, user"), "names cluster d, which it lacks"),
        (GOOD.replace("  user:\n    token", "  user: [1]\n    tok"), "not YAML"),
        (GOOD.replace("users:\n- name: u", "users:\n- 7\n- name: u"), "wrong shape"),
        (b"\xff\xfe\x00", "not text"),
        (  # a file cut short while it was written: its certificate without its key
            GOOD.replace(f"token: {TOKEN}", f"client-certificate-data: {TOKEN}"),
            "user u has a client certificate but no client key",
        ),
        (
            GOOD.replace(f"token: {TOKEN}", f"client-key-data: {TOKEN}"),
            "user u has a client key but no client certificate",
        ),
        (GOOD.replace("cluster: c, user: u", "cluster: c, user: w"), "names user w, which it"),
    ],
)
def test_each_kind_of_fault_is_named(tmp_path: Path, text: str | bytes, problem: str) -> None:
    assert problem in _refusal(tmp_path, text)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigRefused, match="cannot read it"):
        load_kubeconfig(tmp_path / "absent")
