"""The boot service over HTTP: scripts by MAC, configs by single-use token, events, artifacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, Grant, Stage, TokenSigner
from strata.boot.firmware import firmware_assets
from strata.ignition import BuildError
from strata.plan import NodePlan, build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.unit.ignition.examples import errors

ROOT = Path(__file__).resolve().parents[3]
BASE = "http://10.0.2.2:8080"
CP_MAC = "52:54:00:10:00:01"  # lab-cp-0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore, Clock, Path]]:
    store = SQLiteStore(tmp_path / "strata.db")
    mirror = tmp_path / "mirror" / "flatcar" / "4081.2.0"
    mirror.mkdir(parents=True)
    (mirror / "flatcar_production_pxe.vmlinuz").write_bytes(bytes(range(256)) * 16)
    clock = Clock()
    content = BootContent(
        build_plan(load(ROOT / "examples/lab/topology.yaml")), BASE, TokenSigner(store.token_key())
    )
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"), clock=clock)
    with TestClient(service.app) as client:
        yield client, store, clock, tmp_path


def urls(script: str) -> dict[str, str]:
    found = dict(re.findall(r"(ignition\.config\.url|coreos\.inst\.ignition_url)=(\S+)", script))
    return {k: v.removeprefix(BASE) for k, v in found.items()}


def install(client: TestClient, store: SQLiteStore, clock: Clock) -> str:
    store.begin_attempt("lab-cp-0", lifetime=3600, now=clock.now)
    answer = client.get("/ipxe", params={"mac": CP_MAC, "buildarch": "x86_64", "platform": "efi"})
    assert answer.status_code == 200
    return answer.text


def kinds(store: SQLiteStore, node: str = "lab-cp-0") -> list[str]:
    return [e.kind for e in store.events(node)]


def test_the_generic_entry_chains_with_the_machine_identity(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, *_ = world
    script = client.get("/boot.ipxe").text
    assert script.startswith("#!ipxe\n")
    assert (
        f"chain {BASE}/ipxe?mac=${{netX/mac}}&uuid=${{uuid}}&serial=${{serial}}&buildarch=${{buildarch}}&platform=${{platform}}"
        in script
    )


def test_an_unknown_machine_is_recorded_and_never_installed(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, store, *_ = world
    answer = client.get(
        "/ipxe", params={"mac": "52-54-00-AA-BB-CC", "uuid": "u-1", "serial": "SN9"}
    )
    assert "Strata does not know this machine (MAC 52:54:00:aa:bb:cc)" in answer.text
    assert "kernel" not in answer.text
    [machine] = store.unknown_machines()
    assert (machine["mac"], machine["uuid"], machine["serial"]) == (
        "52:54:00:aa:bb:cc",
        "u-1",
        "SN9",
    )


def test_a_node_not_being_provisioned_boots_from_disk(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, store, *_ = world
    assert client.get("/ipxe", params={"mac": CP_MAC}).text.endswith("exit\n")
    assert kinds(store) == []


def test_a_bad_mac_is_a_400(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, *_ = world
    assert client.get("/ipxe", params={"mac": "nope"}).status_code == 400


def test_the_install_flow(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, store, clock, _ = world
    script = install(client, store, clock)
    assert script.startswith("#!ipxe\n# Strata: install flatcar 4081.2.0 on lab-cp-0")
    assert f"kernel {BASE}/assets/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz" in script
    live = urls(script)["ignition.config.url"]
    answer = client.get(live)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.coreos.ignition+json"
    config = answer.json()
    assert errors(config, "3.4.0") == []
    assert config["systemd"]["units"][0]["name"] == "strata-install.service"
    assert kinds(store) == ["ipxe-fetched", "ignition-fetched"]


def test_a_nic_mac_that_is_not_the_boot_mac_finds_the_node_too(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, store, clock, _ = world
    store.begin_attempt("lab-worker-1", lifetime=3600, now=clock.now)
    assert "on lab-worker-1" in client.get("/ipxe", params={"mac": "52:54:00:10:00:03"}).text


def test_replay_forgery_expiry_and_wrong_node_get_403_and_an_event(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, store, clock, _ = world
    live = urls(install(client, store, clock))["ignition.config.url"]
    assert client.get(live).status_code == 200
    assert client.get(live).status_code == 403  # replayed
    forged = TokenSigner(b"not strata's key, but long enough").issue(
        Grant("lab-cp-0", 1, Stage.LIVE, 2**31)
    )
    assert client.get(f"/ignition/lab-cp-0?token={forged}").status_code == 403
    assert client.get(live.replace("lab-cp-0", "lab-worker-0")).status_code == 403
    reasons = [e.detail["reason"] for e in store.events("lab-cp-0") if e.kind == "token-rejected"]
    assert reasons == [
        "replayed (this token was used)",
        "bad signature (forged, or for another node)",
    ]
    assert [e.kind for e in store.events("lab-worker-0")] == ["token-rejected"]
    clock.now += 7200  # past the attempt's hour
    final = urls(client.get("/ipxe", params={"mac": CP_MAC}).text)
    assert final == {}  # the attempt expired: the node boots from disk


def test_an_expired_token(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, store, clock, _ = world
    live = urls(install(client, store, clock))["ignition.config.url"]
    clock.now += 3601
    assert client.get(live).status_code == 403
    assert store.events("lab-cp-0")[-1].detail["reason"] == "expired"


def test_a_token_of_an_earlier_attempt(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, store, clock, _ = world
    old = urls(install(client, store, clock))["ignition.config.url"]
    install(client, store, clock)  # a retry: attempt 2
    assert client.get(old).status_code == 403
    assert store.events("lab-cp-0")[-1].detail["reason"] == "not the attempt in progress"


def test_phone_home(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, store, clock, _ = world
    live = client.get(urls(install(client, store, clock))["ignition.config.url"]).json()
    unit = live["systemd"]["units"][0]["contents"]
    events = re.search(r'-X POST "([^"]+)&event=installed"', unit)
    assert events is not None
    url = events.group(1).removeprefix(BASE)
    assert client.post(url + "&event=installed").status_code == 204
    assert client.post(url, json={"event": "first-boot"}).status_code == 204
    assert client.post(url + "&event=rm-rf").status_code == 400
    live_token = urls(install(client, store, clock))["ignition.config.url"].split("token=")[1]
    assert client.post(f"/events/lab-cp-0?token={live_token}&event=installed").status_code == 403
    assert kinds(store)[-4:] == ["installed", "first-boot", "ipxe-fetched", "token-rejected"]


def test_assets_with_range_and_etag(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, *_ = world
    path = "/assets/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz"
    whole = client.get(path)
    assert whole.status_code == 200 and len(whole.content) == 4096 and whole.headers["etag"]
    part = client.get(path, headers={"Range": "bytes=256-511"})
    assert part.status_code == 206
    assert part.content == bytes(range(256))
    assert part.headers["content-range"] == "bytes 256-511/4096"
    assert client.get(path, headers={"If-None-Match": whole.headers["etag"]}).status_code == 304


def test_no_path_leaves_the_mirror(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, _, _, tmp_path = world
    (tmp_path / "secret").write_text("no")
    (tmp_path / "mirror" / "flatcar" / "4081.2.0" / "link").symlink_to(tmp_path / "secret")
    for path in (
        "/assets/flatcar/4081.2.0/..%2F..%2F..%2Fsecret",
        "/assets/flatcar/4081.2.0/link",
        "/assets/flatcar/..%2F..%2F/secret",
        "/assets/flatcar/4081.2.0/%2e%2e",
    ):
        assert client.get(path).status_code == 404, path


def test_ignition_for_an_unknown_node_is_404(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, *_ = world
    assert client.get("/ignition/nobody?token=x").status_code == 404


def test_scripts_are_cached_per_attempt(world: tuple[TestClient, SQLiteStore, Clock, Path]) -> None:
    client, store, clock, _ = world
    script = install(client, store, clock)
    again = client.get("/ipxe", params={"mac": CP_MAC}).text
    assert again == script  # the same attempt: the same script, tokens included
    assert install(client, store, clock) != script  # a new attempt: new tokens


def test_firmware_serves_only_the_ipxe_binaries_the_architecture_table_names(
    tmp_path: Path,
) -> None:
    """UEFI HTTP Boot clients fetch ipxe.efi from /firmware/ (DHCP names the URL); nothing
    else of the binaries' directory, and no path, is reachable there."""
    binaries = tmp_path / "ipxe"
    binaries.mkdir()
    (binaries / "ipxe.efi").write_bytes(b"MZ" + bytes(range(256)) * 8)
    (binaries / "ipxe.lkrn").write_bytes(b"not offered")
    store = SQLiteStore(tmp_path / "strata.db")
    content = BootContent(
        build_plan(load(ROOT / "examples/lab/topology.yaml")), BASE, TokenSigner(store.token_key())
    )
    firmware = firmware_assets(binaries)
    assert set(firmware) == {"ipxe.efi"}  # undionly.kpxe is named but absent here
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"), firmware=firmware)
    with TestClient(service.app) as client:
        got = client.get("/firmware/ipxe.efi")
        assert got.status_code == 200 and got.content == (binaries / "ipxe.efi").read_bytes()
        assert client.head("/firmware/ipxe.efi").headers["etag"] == got.headers["etag"]
        for path in ("/firmware/ipxe.lkrn", "/firmware/undionly.kpxe", "/firmware/..%2Fipxe.efi"):
            assert client.get(path).status_code == 404, path


def test_a_missing_artifact_is_an_event_on_the_node_asking(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    client, store, clock, tmp_path = world
    script = install(client, store, clock)
    kernel = next(line.split()[1] for line in script.splitlines() if line.startswith("kernel "))
    initrd = next(line.split()[-1] for line in script.splitlines() if line.startswith("initrd "))
    assert re.search(r"flatcar_production_pxe\.vmlinuz\?node=lab-cp-0&token=[\w-]+$", kernel)
    assert client.get(kernel.removeprefix(BASE)).status_code == 200
    assert client.get(initrd.removeprefix(BASE)).status_code == 404  # not in this mirror
    (missing,) = [e for e in store.events("lab-cp-0") if e.kind == "artifact-missing"]
    assert missing.detail["file"] == "flatcar/4081.2.0/flatcar_production_pxe_image.cpio.gz"
    assert missing.detail["attempt"] == store.attempt("lab-cp-0").number  # type: ignore[union-attr]
    # a file removed after the mirror was indexed is missing too, not a 500
    (tmp_path / "mirror/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz").unlink()
    assert client.get(kernel.removeprefix(BASE)).status_code == 404
    assert [e.kind for e in store.events("lab-cp-0")][-1] == "artifact-missing"
    # nobody's request, or a node not being installed, writes nothing
    before = len(store.events("lab-cp-0")) + len(store.events("lab-worker-0"))
    for query in ("?node=nobody", "?node=lab-worker-0", ""):
        assert client.get(f"/assets/flatcar/4081.2.0/x{query}").status_code == 404
    assert len(store.events("lab-cp-0")) + len(store.events("lab-worker-0")) == before


def artifact_token(script: str) -> str:
    """The artifact token the install script's URLs carry."""
    found = re.search(r"\?node=[\w-]+&token=([\w-]+)", script)
    assert found is not None
    return found[1]


def test_only_a_node_s_own_install_can_report_its_files_missing(
    world: tuple[TestClient, SQLiteStore, Clock, Path],
) -> None:
    """The attack: anyone could fail a node mid-install, and grow the state file, with
    ``GET /assets/…?node=NAME``. A 404 is news about a node only with that node's
    artifact token for the attempt in progress, for a file its install fetches."""
    client, store, clock, _ = world
    mine = artifact_token(install(client, store, clock))
    store.begin_attempt("lab-worker-0", lifetime=3600, now=clock.now)
    worker = client.get("/ipxe", params={"mac": "52:54:00:10:00:02"}).text
    assert "on lab-worker-0" in worker
    theirs = artifact_token(worker)
    strata = TokenSigner(store.token_key())
    stage_tokens = [strata.issue(Grant("lab-cp-0", 1, stage, 2**31)) for stage in Stage]
    forged = TokenSigner(b"not strata's key, but long enough").issue_artifacts("lab-cp-0", 1, 2**31)
    initrd = "/assets/flatcar/4081.2.0/flatcar_production_pxe_image.cpio.gz"
    attacks = [
        f"{initrd}?node=lab-cp-0",  # no token
        f"{initrd}?node=lab-cp-0&token=",
        f"{initrd}?node=lab-cp-0&token={forged}",  # another key
        f"{initrd}?node=lab-cp-0&token={theirs}",  # another node's
        f"{initrd}?node=lab-worker-0&token={mine}",  # another node's URL
        *(f"{initrd}?node=lab-cp-0&token={t}" for t in stage_tokens),  # a config or events one
        f"/assets/flatcar/4081.2.0/{'x' * 15_000}?node=lab-cp-0&token={mine}",  # not its file
        f"/assets/flatcar/4081.2.0/flatcar_production_iso_image.iso?node=lab-cp-0&token={mine}",
        f"/assets/fcos/41.20241109.3.0/x?node=lab-cp-0&token={mine}",  # not its OS
        f"/assets/flatcar/9999.0.0/flatcar_production_pxe_image.cpio.gz?node=lab-cp-0&token={mine}",
    ]
    before = {n: kinds(store, n) for n in ("lab-cp-0", "lab-worker-0", "*")}
    for url in attacks:
        assert client.get(url).status_code == 404, url
    for i in range(2000):
        assert client.get(f"/assets/a/b/c{i}?node=lab-cp-0").status_code == 404
    assert {n: kinds(store, n) for n in before} == before  # not a row
    install(client, store, clock)  # a retry: attempt 2; the first attempt's token is stale
    assert client.get(f"{initrd}?node=lab-cp-0&token={mine}").status_code == 404
    assert "artifact-missing" not in kinds(store)
    fresh = artifact_token(client.get("/ipxe", params={"mac": CP_MAC}).text)
    for _ in range(100):  # the machine itself, retrying: one row, its repeats counted
        assert client.get(f"{initrd}?node=lab-cp-0&token={fresh}").status_code == 404
    assert kinds(store).count("artifact-missing") == 1


def test_a_config_that_cannot_be_built_spends_no_token(tmp_path: Path) -> None:
    """A node whose config cannot be built (here: its Kubernetes fragment, as when the
    mirror lists no SHA-256 for a file) gets a 500 and an event with the reason; its
    token is not spent, so it fetches once the fault is fixed."""
    store, clock = SQLiteStore(tmp_path / "strata.db"), Clock()
    faults = ["the mirror lists no SHA-256 for kubernetes/v1.31.2/x.raw"]

    def kube(node: NodePlan) -> dict[str, object] | None:
        if faults:
            raise BuildError(f"{node.name}: {faults[0]}")
        return None

    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    content = BootContent(plan, BASE, TokenSigner(store.token_key()), kube=kube)
    service = BootService(content, store, AssetIndex(tmp_path / "mirror"), clock=clock)
    with TestClient(service.app) as client:
        live = urls(install(client, store, clock))["ignition.config.url"]
        refused = client.get(live)
        assert refused.status_code == 500 and faults[0] in refused.text
        failed = [e.detail for e in store.events("lab-cp-0") if e.kind == "boot-recipe-failed"]
        assert failed and faults[0] in str(failed[0]["reason"])
        faults.clear()  # the artifacts imported
        assert client.get(live).status_code == 200
        assert client.get(live).status_code == 403  # now it is spent
