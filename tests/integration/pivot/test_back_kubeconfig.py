"""`--back` and `--abort` after `--to LAYER` read the layer's kubeconfig from the journal
(``.strata/<layer>.kubeconfig``): one whose certificate has expired (or expires within
a day) is minted again from the layer's CA the state keeps — same path, 0600 — and
the way back reaches the layer's real API server with it (``strata.cli.pivot_remint``)."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import yaml

from strata.cli.pivot_remint import expires
from strata.kube.material_store import layer_admin_kubeconfig, stored_material
from strata.store import SQLiteStore
from strata.store.state_file import write_private
from tests.integration.pivot.conftest import run_pivot
from tests.integration.pivot.test_to_layer import layer_plane as layer_plane  # a fixture


def _run_out(file: Path, url: str, kubeconfig: Path, lifetime: datetime.timedelta) -> None:
    """The layer's kubeconfig replaced by one minted 31 days ago, valid ``lifetime``."""
    store = SQLiteStore(file.parent / ".strata" / "strata.db")
    try:
        material = stored_material(store, "mgmt")
    finally:
        store.close()
    assert material is not None
    then = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=31)
    write_private(kubeconfig, layer_admin_kubeconfig(material, url, then, lifetime))


def _moved_to_mgmt(file: Path) -> Path:
    """``strata pivot --to mgmt`` from FILE's state; the layer kubeconfig it wrote."""
    moved = run_pivot("-f", str(file), "--to", "mgmt", "--copy-credentials")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    return file.parent / ".strata" / "mgmt.kubeconfig"


def test_the_way_back_mints_an_expired_layer_kubeconfig_again(
    layer_plane: tuple[Path, str],
) -> None:
    file, url = layer_plane
    kubeconfig = _moved_to_mgmt(file)
    _run_out(file, url, kubeconfig, datetime.timedelta(days=30))  # expired a day ago
    now = datetime.datetime.now(datetime.UTC)
    assert (expires(kubeconfig) or now) < now
    back = run_pivot("-f", str(file), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"layer mgmt's kubeconfig {kubeconfig}: its certificate expired" in back.stdout
    assert "minted again from the layer's CA" in back.stdout
    assert "PRIVATE KEY" not in back.stdout + back.stderr
    renewed = expires(kubeconfig)
    assert renewed is not None and renewed > now + datetime.timedelta(days=29)
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
    assert "now lives in state file" in back.stdout


def test_abort_mints_a_layer_kubeconfig_that_expires_within_a_day_again(
    layer_plane: tuple[Path, str],
) -> None:
    file, url = layer_plane
    killed = run_pivot(
        "-f", str(file), "--to", "mgmt", "--copy-credentials", failpoint="after:copy"
    )
    assert killed.returncode != 0
    kubeconfig = file.parent / ".strata" / "mgmt.kubeconfig"
    _run_out(file, url, kubeconfig, datetime.timedelta(days=31, hours=2))  # 2 h left
    aborted = run_pivot("-f", str(file), "--abort")
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    assert "its certificate expires" in aborted.stdout
    assert "the move's state removed" in aborted.stdout  # it reached the cluster to clean it
    renewed = expires(kubeconfig)
    now = datetime.datetime.now(datetime.UTC)
    assert renewed is not None and renewed > now + datetime.timedelta(days=29)


def test_back_dry_run_writes_no_kubeconfig(layer_plane: tuple[Path, str]) -> None:
    """A dry run says it would mint the layer's run-out kubeconfig again, writes nothing,
    and still reaches the cluster (with one minted into a temporary directory)."""
    file, url = layer_plane
    kubeconfig = _moved_to_mgmt(file)
    _run_out(file, url, kubeconfig, datetime.timedelta(days=30))
    before = kubeconfig.read_bytes()
    dry = run_pivot("-f", str(file), "--back", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert kubeconfig.read_bytes() == before, dry.stdout
    assert "would be minted again from the layer's CA (dry run: not written)" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout


def test_the_persons_own_kubeconfig_at_the_layer_path_is_used_as_it_is(
    layer_plane: tuple[Path, str],
) -> None:
    """No client-certificate-data (certificate files here; a token or an exec plugin
    alike): not Strata's, never overwritten."""
    file, _url = layer_plane
    kubeconfig = _moved_to_mgmt(file)
    config = yaml.safe_load(kubeconfig.read_text())
    user = config["users"][0]["user"]
    certf, keyf = file.parent / "my.crt", file.parent / "my.key"
    certf.write_bytes(base64.b64decode(user.pop("client-certificate-data")))
    keyf.write_bytes(base64.b64decode(user.pop("client-key-data")))
    user["client-certificate"], user["client-key"] = str(certf), str(keyf)
    kubeconfig.write_text(yaml.safe_dump(config))
    before = kubeconfig.read_bytes()
    dry = run_pivot("-f", str(file), "--back", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert kubeconfig.read_bytes() == before, dry.stdout
    assert "minted again" not in dry.stdout


def test_a_refused_abort_leaves_the_run_out_kubeconfig_as_it_was(
    layer_plane: tuple[Path, str],
) -> None:
    """--abort of a finished move is refused (after reaching the cluster with the
    kubeconfig minted again): the file put back as it was — a refused run writes
    nothing."""
    file, url = layer_plane
    kubeconfig = _moved_to_mgmt(file)
    _run_out(file, url, kubeconfig, datetime.timedelta(days=30))
    before = kubeconfig.read_bytes()
    aborted = run_pivot("-f", str(file), "--abort")
    assert aborted.returncode != 0, aborted.stdout + aborted.stderr
    assert "no unfinished move to abort" in aborted.stdout + aborted.stderr
    assert kubeconfig.read_bytes() == before
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
