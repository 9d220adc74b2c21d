"""``/grub``: the boot recipe for GRUB, which the virtual media image starts on UEFI. The
same node, attempt and tokens as ``/ipxe``, in GRUB's words (strata.boot.loaders)."""

from __future__ import annotations

import shlex
from pathlib import Path

from starlette.testclient import TestClient

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.unit.boot.test_service import BASE, CP_MAC, ROOT, Clock, kinds, world
from tests.unit.ignition.examples import errors

__all__ = ["world"]  # the fixture, imported for pytest
World = tuple[TestClient, SQLiteStore, Clock, Path]
GRUB_BASE = "(http,10.0.2.2:8080)"


def test_the_install_for_grub(world: World) -> None:
    client, store, clock, _ = world
    store.begin_attempt("lab-cp-0", lifetime=3600, now=clock.now)
    answer = client.get("/grub", params={"mac": CP_MAC, "via": "virtual-media"})
    assert answer.status_code == 200
    lines = answer.text.splitlines()
    assert lines[0] == "# Strata: install flatcar 4081.2.0 on lab-cp-0"
    linux = shlex.split(lines[2])
    assert linux[1].startswith(
        f"{GRUB_BASE}/assets/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz?node=lab-cp-0&token="
    )
    assert "BOOTIF=01-52-54-00-10-00-01" in linux and "initrd=main" not in linux
    [live] = [a.split("=", 1)[1] for a in linux if a.startswith("ignition.config.url=")]
    config = client.get(live.removeprefix(BASE))
    assert config.status_code == 200 and errors(config.json(), "3.4.0") == []
    [fetched] = [e for e in store.events("lab-cp-0") if e.kind == "ipxe-fetched"]
    assert (fetched.detail["loader"], fetched.detail["via"]) == ("grub", "virtual-media")
    assert kinds(store) == ["ipxe-fetched", "ignition-fetched"]


def test_grub_and_ipxe_render_the_attempt_apart(world: World) -> None:
    client, store, clock, _ = world
    store.begin_attempt("lab-cp-0", lifetime=3600, now=clock.now)
    grub = client.get("/grub", params={"mac": CP_MAC}).text
    ipxe = client.get("/ipxe", params={"mac": CP_MAC}).text
    assert grub.startswith("# Strata") and ipxe.startswith("#!ipxe")
    assert client.get("/grub", params={"mac": CP_MAC}).text == grub  # cached per attempt


def test_no_attempt_hands_grub_back_to_the_firmware(world: World) -> None:
    client, store, *_ = world
    answer = client.get("/grub", params={"mac": CP_MAC})
    assert answer.text.splitlines()[-1] == "exit" and "linux" not in answer.text
    assert kinds(store) == []


def test_an_unknown_machine_asking_grub_is_recorded(world: World) -> None:
    client, store, *_ = world
    answer = client.get("/grub", params={"mac": "52:54:00:aa:bb:cc"})
    assert "Strata does not know this machine (MAC 52:54:00:aa:bb:cc)" in answer.text
    assert answer.text.endswith("exit\n") and "linux" not in answer.text
    assert [m["mac"] for m in store.unknown_machines()] == ["52:54:00:aa:bb:cc"]
    assert client.get("/grub", params={"mac": "nope"}).status_code == 400


def test_grub_cannot_read_https_so_the_recipe_fails_on_the_node(tmp_path: Path) -> None:
    """A boot service behind https: GRUB has no TLS; the node is told why, in GRUB's words,
    and the failure is on the node (no token spent, no install)."""
    store, clock = SQLiteStore(tmp_path / "strata.db"), Clock()
    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    content = BootContent(plan, "https://boot.example:8443", TokenSigner(store.token_key()))
    service = BootService(content, store, AssetIndex(tmp_path), clock=clock)
    store.begin_attempt("lab-cp-0", lifetime=3600, now=clock.now)
    with TestClient(service.app) as client:
        answer = client.get("/grub", params={"mac": CP_MAC})
    echo, *rest = answer.text.splitlines()
    assert echo.startswith("echo 'Strata: GRUB reads plain http:// URLs only")
    assert rest == ["sleep 30", "exit"]
    [failed] = store.events("lab-cp-0")
    assert failed.kind == "boot-recipe-failed" and "GRUB reads plain" in failed.detail["reason"]
    assert "token=" not in answer.text + str(failed.detail)  # the URL's query is left out
