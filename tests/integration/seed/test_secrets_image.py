"""A real seed image built by `strata seed build` (the live root from the session's
``seed_root``, cached by its inputs), inspected with `strata seed inspect`, and its bytes
searched for every secret: the BMC password and the passphrase are nowhere in the image
when the secrets are sealed — and the password is there with --plaintext-secrets, so the
search can find what it looks for. The medium's payload read back (``read_payload``)
opens with the passphrase to the very password."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from strata.seed.medium import read_payload
from strata.seed.payload import read_contents
from strata.seed.rootfs import LiveRoot
from strata.seed.sealed import unseal
from tests.integration.seed.conftest import run_strata, with_bmc_password
from tests.unit.seed.conftest import PASSWORD, seed_topology

PHRASE = "a long seed passphrase"


def strata(*args: str) -> subprocess.CompletedProcess[str]:
    return run_strata(*args, env=with_bmc_password(), timeout=1800)


def forms(secret: str) -> list[bytes]:
    """The ways a text can sit in a file: UTF-8, UTF-16 (Joliet names are UCS-2), JSON."""
    return [secret.encode(), secret.encode("utf-16-le"), secret.encode("utf-16-be")]


def test_no_secret_is_in_the_image_unless_asked(seed_root: LiveRoot, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    topology = seed_topology(site)
    (tmp_path / "phrase").write_text(PHRASE + "\n")
    image = tmp_path / "seed.iso"
    built = strata("seed", "build", str(topology), "-o", str(image), "--node", "lab-seed",
                   "--passphrase-file", str(tmp_path / "phrase"))  # fmt: skip
    assert built.returncode == 0, built.stderr
    print(built.stdout.strip())  # size, digest, build time
    raw = image.read_bytes()
    for secret in (PASSWORD, PHRASE):
        assert not any(form in raw for form in forms(secret)), secret

    inspected = strata("seed", "inspect", str(image), "-o", "json")
    assert inspected.returncode == 0, inspected.stderr
    seed = json.loads(inspected.stdout)["seed"]
    assert seed["secrets"]["sealed"] is True and seed["node"] == "lab-seed"
    contents = read_contents(read_payload(image))
    assert unseal(contents.secrets or b"", PHRASE).reveal("credentials/lab-bmc") == PASSWORD

    clear = tmp_path / "clear.iso"
    built = strata("seed", "build", str(topology), "-o", str(clear), "--plaintext-secrets")
    assert built.returncode == 0, built.stderr
    assert PASSWORD.encode() in clear.read_bytes()
    inspected = strata("seed", "inspect", str(clear))
    assert "secrets: IN CLEAR (--plaintext-secrets)" in inspected.stdout
