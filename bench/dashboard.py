"""The dashboard at 10,009 servers in a real browser (Debian's headless chromium over
the DevTools Protocol): first paint of the rack view, and how long after a state
change is written to the store it shows in the page. Target (issue 20): first paint
< 1 s, an update visible < 1 s after the state change.

The store is a SQLite state with every server of the example declared; the web face
is `strata apply`'s (strata.cli.web_face) on a real uvicorn server; changes are
written as the controller writes them (a record and its `state` log entry).

- first paint: ``performance.now()`` at the first animation frame after the racks
  were drawn (navigation start = 0: the page, its script, /api/v1/racks, the DOM of
  every slot), and the browser's own first-contentful-paint; median of ``--loads``
  page loads.
- update: ``shown - at`` per change, ``at`` the log entry's time (the store's clock),
  ``shown`` when the page applied it (the same machine's clock); ``--changes`` changes,
  one every 100 ms.

    python bench/dashboard.py [--file examples/hyperscale/topology.yaml] [--loads 5] [--changes 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ runs from a checkout: tests.support is beside it
DEFAULT = ROOT / "examples" / "hyperscale" / "topology.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()

    from strata.cli.web_face import web_face
    from strata.plan import build_plan
    from strata.plan.model import to_jsonable
    from strata.store import RecordWrite, SQLiteStore
    from strata.topology import load
    from tests.support.boot_server import free_port
    from tests.support.browser import Browser

    plan = build_plan(load(args.file))
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "strata.db")
        store.write_records(
            [RecordWrite(n.name, 0, "declared", plan=to_jsonable(n)) for n in plan.nodes]
        )
        port = free_port()
        face = web_face(store, plan, "127.0.0.1", port)
        face.runner.start()
        browser = Browser(Path(tmp))
        try:
            paints, contentful = [], []
            for _ in range(args.loads):
                browser.open(f"http://127.0.0.1:{port}/?{time.monotonic()}")
                browser.wait_for("window.strata && window.strata.painted", "the rack view")
                count = browser.evaluate("document.querySelectorAll('.slot').length")
                assert count == len(plan.nodes), count
                paints.append(browser.evaluate("window.strata.painted"))
                contentful.append(browser.evaluate(
                    "performance.getEntriesByName('first-contentful-paint')[0].startTime"
                ))  # fmt: skip
            browser.wait_for("document.getElementById('live').textContent === 'live'", "live")
            versions = dict.fromkeys((n.name for n in plan.nodes), 1)
            rng = random.Random(20)
            for _ in range(args.changes):
                name = rng.choice(list(versions))
                moved = {"from": "declared", "to": "registering", "event": "start"}
                store.write_records(
                    [RecordWrite(name, versions[name], "registering", event=("state", moved))]
                )
                versions[name] += 1
                time.sleep(0.1)
            browser.wait_for(f"window.strata.updates.length >= {args.changes}", "every change")
            updates = browser.evaluate("window.strata.updates")
        finally:
            browser.close()
            face.runner.stop()
            store.close()
    lags = sorted(u["shown"] - u["at"] for u in updates)
    result = {
        "servers": len(plan.nodes),
        "first_paint_ms_median": round(statistics.median(paints)),
        "first_paint_ms_max": round(max(paints)),
        "first_contentful_paint_ms_median": round(statistics.median(contentful)),
        "update_s_median": round(statistics.median(lags), 3),
        "update_s_p95": round(lags[int(0.95 * (len(lags) - 1))], 3),
        "update_s_max": round(lags[-1], 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
