"""scripts/kube-assets.sh, the one place that finds the Kubernetes test binaries for
``./dev`` and for the tests' fixture: its fast path (the shared tarball checked against
SHA256SUMS, extracted once with a stamp; a second run does nothing), its refusals, and
what it says without shared data. A small tarball of stand-in binaries plays the shared
one; the slow path (the build from Debian's source package) is not run here.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support import kube_api

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kube-assets.sh"
VERSION = "1.20.2"
TARBALL = f"kube-{VERSION}-linux-amd64.tar.xz"
BINARIES = ("kube-apiserver", "kube-controller-manager", "kubeadm", "kubelet")


def _tarball(names: tuple[str, ...] = BINARIES, flavour: str = "one") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        for name in names:
            body = f"#!/bin/sh\necho {name} {flavour}\n".encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(body), 0o755
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def _share(shared: Path, data: bytes, listed: bytes | None = None) -> str:
    """Puts ``data`` where the shared tarball goes, with SHA256SUMS listing ``listed``'s digest."""
    directory = shared / "kube-assets"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / TARBALL).write_bytes(data)
    digest = hashlib.sha256(data if listed is None else listed).hexdigest()
    (directory / "SHA256SUMS").write_text(f"{digest}  {TARBALL}\n")
    return digest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "KUBEBUILDER_ASSETS")}
    environ |= {
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "STRATA_SHARED": str(tmp_path / "shared"),
    }
    return environ


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _target(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "strata" / "kube-assets" / VERSION


def _leftovers(tmp_path: Path) -> list[str]:
    """What a run left beside the target: only the lock file is expected."""
    parent = _target(tmp_path).parent
    return sorted(p.name for p in parent.iterdir() if p.name not in (VERSION, ".lock"))


def test_extracts_the_checked_tarball_once_with_a_stamp(
    tmp_path: Path, env: dict[str, str]
) -> None:
    digest = _share(tmp_path / "shared", _tarball())
    run = _run(env)
    assert run.returncode == 0, run.stderr
    target = _target(tmp_path)
    assert run.stdout == f"{target}\n"  # all of stdout: ./dev captures it as KUBEBUILDER_ASSETS
    assert "extracting" in run.stderr
    for name in BINARIES:
        assert (target / name).stat().st_mode & 0o777 == 0o755
        assert (
            subprocess.run([target / name], capture_output=True, text=True).stdout
            == f"{name} one\n"
        )
    assert target.stat().st_mode & 0o777 == 0o755  # the lab reads it too
    stamp = (target / ".stamp").read_text().splitlines()
    assert stamp[0] == f"shared sha256={digest}"
    assert stamp[1] == f"from {(tmp_path / 'shared' / 'kube-assets' / TARBALL).resolve()}"
    assert _leftovers(tmp_path) == []


def test_a_second_run_does_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    _share(tmp_path / "shared", _tarball())
    assert _run(env).returncode == 0
    target = _target(tmp_path)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in target.iterdir()}
    # It decides from SHA256SUMS and the stamp alone: the tarball is not even read again.
    (tmp_path / "shared" / "kube-assets" / TARBALL).write_bytes(b"not read")
    again = _run(env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{target}\n"
    assert again.stderr == ""
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in target.iterdir()} == before


def test_a_new_shared_tarball_is_extracted_again(tmp_path: Path, env: dict[str, str]) -> None:
    _share(tmp_path / "shared", _tarball(flavour="one"))
    assert _run(env).returncode == 0
    digest = _share(tmp_path / "shared", _tarball(flavour="two"))
    run = _run(env)
    assert run.returncode == 0, run.stderr
    target = _target(tmp_path)
    assert "extracting" in run.stderr
    assert (target / ".stamp").read_text().splitlines()[0] == f"shared sha256={digest}"
    assert (target / "kubelet").read_text().endswith("kubelet two\n")
    assert _leftovers(tmp_path) == []


def test_rebuild_extracts_again(tmp_path: Path, env: dict[str, str]) -> None:
    _share(tmp_path / "shared", _tarball())
    assert _run(env).returncode == 0
    (_target(tmp_path) / "kubelet").write_text("damaged")
    run = _run(env, "--rebuild")
    assert run.returncode == 0, run.stderr
    assert (_target(tmp_path) / "kubelet").read_text().endswith("kubelet one\n")


def test_a_missing_binary_is_extracted_again(tmp_path: Path, env: dict[str, str]) -> None:
    _share(tmp_path / "shared", _tarball())
    assert _run(env).returncode == 0
    (_target(tmp_path) / "kubeadm").unlink()
    run = _run(env)
    assert run.returncode == 0, run.stderr
    assert "extracting" in run.stderr
    assert (_target(tmp_path) / "kubeadm").exists()


def test_a_tarball_that_does_not_match_sha256sums_is_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    _share(tmp_path / "shared", _tarball(flavour="tampered"), listed=_tarball())
    run = _run(env)
    assert run.returncode == 1
    assert "does not match its SHA256SUMS" in run.stderr
    assert run.stdout == ""
    assert not _target(tmp_path).exists()
    assert _leftovers(tmp_path) == []


def test_a_tarball_without_every_binary_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    _share(tmp_path / "shared", _tarball(names=BINARIES[:2]))
    run = _run(env)
    assert run.returncode == 1
    assert "does not hold" in run.stderr
    assert not _target(tmp_path).exists()
    assert _leftovers(tmp_path) == []


def test_concurrent_runs_extract_once(tmp_path: Path, env: dict[str, str]) -> None:
    _share(tmp_path / "shared", _tarball())
    runs = [
        subprocess.Popen(
            [SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), results
    assert {out for out, _ in results} == {f"{_target(tmp_path)}\n"}
    assert sum("extracting" in err for _, err in results) == 1


def test_without_shared_data_nothing_built_it_says_why(tmp_path: Path, env: dict[str, str]) -> None:
    run = _run(env, "--no-build")
    assert run.returncode == 3
    assert run.stdout == ""
    assert "kube-assets is absent" in run.stderr
    assert "./dev test builds it" in run.stderr


def test_under_ci_absent_shared_data_is_an_error_not_a_build(
    tmp_path: Path, env: dict[str, str]
) -> None:
    run = _run(env | {"CI": "true"})
    assert run.returncode == 1
    assert "CI always has it" in run.stderr
    assert not (tmp_path / "cache" / "strata" / "kube-assets" / VERSION).exists()


def test_without_shared_data_what_was_made_before_is_used(
    tmp_path: Path, env: dict[str, str]
) -> None:
    _share(tmp_path / "shared", _tarball())
    assert _run(env).returncode == 0
    (tmp_path / "shared" / "kube-assets" / TARBALL).unlink()
    (tmp_path / "shared" / "kube-assets" / "SHA256SUMS").unlink()
    (tmp_path / "shared" / "kube-assets").rmdir()
    extracted = _run(env, "--no-build")
    assert (extracted.returncode, extracted.stdout) == (0, f"{_target(tmp_path)}\n")
    stamp = _target(tmp_path) / ".stamp"
    stamp.write_text("built recipe=1\nkubernetes source package: 1.20.5+really1.20.2-1.1\n")
    built = _run(env, "--no-build")
    assert (built.returncode, built.stdout, built.stderr) == (0, f"{_target(tmp_path)}\n", "")
    stamp.write_text("built recipe=0\n")  # an older recipe's build is not used
    assert _run(env, "--no-build").returncode == 3


def test_the_fixture_prefers_kubebuilder_assets(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    named = tmp_path / "assets"
    named.mkdir()
    for name in kube_api.BINARIES:
        (named / name).write_text("#!/bin/sh\n")
        (named / name).chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(named))
    monkeypatch.setenv("STRATA_SHARED", env["STRATA_SHARED"])  # absent: not looked at
    assert kube_api.assets_dir() == named


def test_the_fixture_falls_back_to_the_script(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _share(tmp_path / "shared", _tarball())
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for key in ("HOME", "XDG_CACHE_HOME", "STRATA_SHARED"):
        monkeypatch.setenv(key, env[key])
    assert kube_api.assets_dir() == _target(tmp_path)


def test_the_fixture_skips_without_either_and_fails_under_ci(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for key in ("HOME", "XDG_CACHE_HOME", "STRATA_SHARED"):
        monkeypatch.setenv(key, env[key])
    with pytest.raises(
        pytest.skip.Exception, match=re.escape("was never built: ./dev test builds it")
    ):
        kube_api.assets_dir()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI always has it"):
        kube_api.assets_dir()
