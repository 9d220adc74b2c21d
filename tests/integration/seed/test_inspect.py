"""`strata seed inspect` as a process: what a seed holds — the topology's digest, the
artifacts with their sums (checked against the bytes), the versions, whether the secrets
are sealed — from a medium's directory (the image's own test is test_secrets_image.py),
its secrets never opened (no passphrase is given, none is asked)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from strata import __version__
from tests.integration.seed.conftest import run_strata, with_bmc_password
from tests.unit.seed.conftest import PASSWORD, seed_topology


def strata(*args: str) -> subprocess.CompletedProcess[str]:
    return run_strata(*args, env=with_bmc_password())


def test_inspect_says_what_a_medium_holds_without_opening_its_secrets(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    topology = seed_topology(site)
    mirror = site / "artifacts" / "flatcar" / "4081.2.0"
    mirror.mkdir(parents=True)
    kernel = b"\x7fELF kernel" * 5000
    (mirror / "flatcar_production_pxe.vmlinuz").write_bytes(kernel)
    (tmp_path / "phrase").write_text("a long seed passphrase\n")
    medium = tmp_path / "medium"
    built = strata("seed", "build", str(topology), "-o", str(medium), "--directory",
                   "--passphrase-file", str(tmp_path / "phrase"))  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "1 artifacts" in built.stderr and "1 secrets (sealed)" in built.stderr
    # the mirror holds the kernel only: the rest of an install is said missing, at build
    assert "warning: the seed lacks artifacts for flatcar 4081.2.0" in built.stderr
    assert "flatcar_production_pxe_image.cpio.gz" in built.stderr

    done = strata("seed", "inspect", str(medium), "-o", "json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    seed = found["seed"]
    assert seed["topology_sha256"] == hashlib.sha256(topology.read_bytes()).hexdigest()
    assert (seed["strata"], seed["format"], seed["topology"]) == (__version__, 1, "lab")
    assert seed["secrets"] == {
        "sealed": True,
        "file": "secrets.sealed",
        "names": ["credentials/lab-bmc"],
        "cipher": "scrypt+AES-256-GCM",
    }
    path = "artifacts/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz"
    assert seed["artifacts"] == [
        {"path": path, "size": len(kernel), "sha256": hashlib.sha256(kernel).hexdigest()}
    ]
    assert found["verified"] == {path: True}
    assert [f["name"] for f in seed["files"]] == ["fragments/motd.yaml"]

    (medium / "strata" / path).write_bytes(kernel[:-1] + b"X")  # one byte changed
    text = strata("seed", "inspect", str(medium))
    assert text.returncode == 1, text.stderr  # a sum differs
    assert "secrets: sealed (scrypt+AES-256-GCM); credentials/lab-bmc" in text.stdout
    assert f"{path}  {len(kernel)}" in text.stdout and "SUM DIFFERS" in text.stdout
    assert PASSWORD not in done.stdout + text.stdout + text.stderr
