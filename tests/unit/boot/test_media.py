"""Virtual media images: what is on them, who may read them, and how they are served."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest
from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.boot.media import MediaError, MediaFiles, MediaImages, media_script, media_url
from strata.plan import NodePlan, build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.machine_sim import iso_file

ROOT = Path(__file__).resolve().parents[3]
BASE = "http://10.0.2.2:8080"
NOW = 1_000_000.0


def _plan_nodes() -> dict[str, NodePlan]:
    return {n.name: n for n in build_plan(load(ROOT / "examples/lab/topology.yaml")).nodes}


def _need_files() -> None:
    try:
        MediaFiles().check()
    except MediaError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore, TokenSigner]]:
    _need_files()
    store = SQLiteStore(tmp_path / "strata.db")
    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    signer = TokenSigner(store.token_key())
    content = BootContent(plan, BASE, signer)
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"), clock=lambda: NOW)
    with TestClient(service.app) as client:
        yield client, store, signer


def test_the_script_chains_to_the_nodes_own_boot_mac() -> None:
    node = _plan_nodes()["lab-cp-0"]
    script = media_script(node, BASE + "/")
    assert script.startswith("#!ipxe\n")
    chain = f"chain {BASE}/ipxe?mac={node.boot_mac}&via=virtual-media"
    assert f"dhcp && {chain}&buildarch=${{buildarch}}&platform=${{platform}} && exit ||" in script
    assert script.endswith("exit\n") and script.count("sleep 5") == 24
    assert "token" not in script  # the tokens stay with the boot service


def test_an_image_boots_ipxe_with_the_script(tmp_path: Path) -> None:
    """El Torito (no emulation) boots ISOLINUX, whose menu starts ipxe.lkrn with the
    script as its initrd; the files are Debian's, byte for byte."""
    _need_files()
    node, files = _plan_nodes()["lab-worker-0"], MediaFiles()
    images = MediaImages()
    try:
        asset = images.image(node, BASE)
        data = asset.path.read_bytes()
        assert asset.path.parent.stat().st_mode & 0o077 == 0  # this process alone reads it
        assert iso_file(data, "strata.ipxe").decode() == media_script(node, BASE)
        assert iso_file(data, "ipxe.lkrn") == files.ipxe.read_bytes()
        assert b"INITRD /strata.ipxe" in iso_file(data, "isolinux.cfg")
        iso = pycdlib.PyCdlib()
        iso.open_fp(io.BytesIO(data))
        assert iso.eltorito_boot_catalog is not None
        iso.close()
        assert images.image(node, BASE) == asset  # kept: built once
    finally:
        images.close()
    assert not asset.path.exists()


def test_the_oldest_image_goes_once_more_are_kept() -> None:
    _need_files()
    nodes = list(_plan_nodes().values())[:3]
    images = MediaImages(keep=2)
    try:
        first = images.image(nodes[0], BASE)
        images.image(nodes[1], BASE)
        images.image(nodes[2], BASE)
        assert not first.path.exists()
        assert images.image(nodes[0], BASE).path.exists()  # built again when asked
    finally:
        images.close()


def test_missing_boot_loader_files_are_named_with_their_packages(tmp_path: Path) -> None:
    files = MediaFiles(isolinux=tmp_path / "isolinux.bin")
    images = MediaImages(files)
    with pytest.raises(MediaError, match=r"isolinux\.bin: apt-get install isolinux"):
        images.image(_plan_nodes()["lab-worker-0"], BASE)


def test_the_service_serves_an_image_to_its_token_with_range(
    served: tuple[TestClient, SQLiteStore, TokenSigner],
) -> None:
    client, _, signer = served
    url = media_url(BASE, signer, "lab-worker-0", int(NOW) + 60).removeprefix(BASE)
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content[0x8001:0x8006] == b"CD001"
    part = client.get(url, headers={"Range": "bytes=32768-32773"})
    assert part.status_code == 206 and part.content == whole.content[32768:32774]
    again = client.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304
    assert client.head(url).headers["content-length"] == str(len(whole.content))


@pytest.mark.parametrize(
    "make",
    [
        lambda s: s.issue_media("lab-worker-1", int(NOW) + 60),  # another node's
        lambda s: s.issue_media("lab-worker-0", int(NOW) - 1),  # expired
        lambda s: s.issue_artifacts("lab-worker-0", 1, int(NOW) + 60),  # not a media token
        lambda s: "forged",
    ],
)
def test_any_other_token_is_refused_and_recorded(
    served: tuple[TestClient, SQLiteStore, TokenSigner], make: object
) -> None:
    client, store, signer = served
    token = make(signer)  # type: ignore[operator]
    answer = client.get(f"/media/lab-worker-0.iso?token={token}")
    assert answer.status_code == 403 and b"CD001" not in answer.content
    assert client.get("/media/nobody.iso?token=x").status_code == 403
    refused = [e for e in store.events("lab-worker-0") if e.kind == "token-rejected"]
    assert refused and refused[0].detail["route"] == "media"
