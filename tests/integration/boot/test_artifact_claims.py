"""A missing artifact against the real server on 127.0.0.1: only the node's own install,
with its artifact token, makes it an event; nobody else can fail the node or grow the
state file.

Before, ``GET /assets/ANY/ANY/ANY?node=NAME`` with no token wrote ``artifact-missing`` on
NAME (which the controller fails at once), keyed by the client's file name: 2,000
requests made 2,000 rows, and 1,000 with 15 KB names grew strata.db by 15 MB.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx

from strata.boot import TokenSigner
from strata.boot.limits import Limits
from tests.integration.boot.served import FAST, Running

INITRD = "/assets/flatcar/4081.2.0/flatcar_production_pxe_image.cpio.gz"


def state_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def test_only_the_node_s_own_install_makes_a_missing_file_an_event(
    serve: Callable[[Limits], Running],
) -> None:
    running = serve(FAST)
    script = httpx.get(f"{running.base}/ipxe", params={"mac": "52:54:00:10:00:01"}).text
    mine = re.search(r"\?node=lab-cp-0&token=([\w-]+)", script)
    assert mine is not None
    size = state_bytes(running.store.path)
    forged = TokenSigner(b"not strata's key, but long enough").issue_artifacts("lab-cp-0", 1, 2**31)
    with httpx.Client(base_url=running.base) as client:
        for i in range(1_000):  # 15 KB names, no token
            name = f"{i}{'n' * 15_000}"
            assert client.get(f"/assets/flatcar/4081.2.0/{name}?node=lab-cp-0").status_code == 404
        for i in range(1_000):  # a forged token; the node's own token, a file not its own
            token = forged if i % 2 else mine[1]
            got = client.get(f"/assets/a/b/c{i}?node=lab-cp-0&token={token}")
            assert got.status_code == 404
        assert client.get(f"{INITRD}?node=lab-cp-0&token={forged}").status_code == 404
        assert running.store.events("lab-cp-0")[-1].kind == "ipxe-fetched"  # nothing since
        for _ in range(100):  # the machine itself, retrying
            assert client.get(f"{INITRD}?node=lab-cp-0&token={mine[1]}").status_code == 404
    running.stop()  # the server closes its open windows as it stops
    kinds = [e.kind for e in running.store.events("lab-cp-0")]
    assert kinds == ["ipxe-fetched", "artifact-missing", "repeated"]
    missing, repeated = running.store.events("lab-cp-0")[1:]
    assert missing.detail["file"] == "flatcar/4081.2.0/flatcar_production_pxe_image.cpio.gz"
    assert repeated.detail["repeats"] == 99
    assert running.store.events("*") == []
    assert state_bytes(running.store.path) - size < 1 << 20  # before: 15 MB and more
