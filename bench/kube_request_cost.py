"""What one request of the Kubernetes store costs the control plane: CPU of the API server
and of etcd per request, by kind, against the control plane bench/lifecycle_kube.py
starts (kube-apiserver v1.20.2 + etcd + kube-controller-manager, the Server CRD).

200 Servers are written as the lifecycle writes them (a NodePlan, three record writes,
an attempt), then each kind is sent ``--count`` times from 16 threads, the kinds
alternated over ``--rounds``; CPU from /proc (``lifecycle_kube._plane_cpu``):

- ``GET``: a Server read from etcd (``KubeStore.attempt`` by default);
- ``GET cached``: the same with ``resourceVersion=0``, from the API server's watch cache
  (``KubeStore(cached_attempts=True)``);
- ``PUT status``: a status write as ``Servers.change`` makes it;
- ``PUT status, watched``: the same while one more client watches the Servers (what a
  watch-fed cache in the store would add to every write).

    python bench/kube_request_cost.py [--count 800] [--rounds 2] [--apiserver-arg FLAG=VALUE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SERVERS = 200
PLAN = {
    "layer": "web",
    "region": "eu",
    "zone": "z1",
    "rack": "r01",
    "mac": "52:54:00:00:00:01",
    "bmc_address": "10.0.0.1",
    "os_version": "41.20241109.3.0",
    "install_disk": "/dev/nvme0n1",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=800, help="requests of each kind a round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--apiserver-arg", action="append", default=[], metavar="FLAG=VALUE")
    args = parser.parse_args()
    from bench.lifecycle_kube import NAMESPACE, _kubeconfig, _start_plane
    from strata.store import KubeStore, RecordWrite

    with tempfile.TemporaryDirectory() as tmp:
        plane = _start_plane(Path(tmp), args.apiserver_arg)
        try:
            store = KubeStore.from_kubeconfig(_kubeconfig(plane), NAMESPACE, "cost")
            names = [f"n{i}" for i in range(SERVERS)]
            declared: tuple[str, dict[str, object]] = ("declared", {})
            store.write_records(
                [RecordWrite(n, 0, "registering", plan=PLAN, event=declared) for n in names]
            )
            for version, state in enumerate(["ready", "installing"], start=1):
                store.write_records(
                    [RecordWrite(n, version, state, event=(state, {})) for n in names]
                )
            for name in names:
                store.begin_attempt(name, 600)
            for _ in range(args.rounds):
                for kind, send in _kinds(store).items():
                    watcher = _Watcher(plane, store) if kind.endswith("watched") else None
                    print(_measure(plane, kind, send, names, args.count), flush=True)
                    if watcher is not None:
                        watcher.stop()
            store.close()
        finally:
            plane.stop()


def _kinds(store: Any) -> dict[str, Callable[[str], object]]:
    servers = store.servers

    def put(name: str) -> object:
        return servers.change(name, lambda status: status | {"marks": {"at": time.time()}})

    def cached(name: str) -> object:
        return store.api.get(servers.path(name), params={"resourceVersion": "0"})

    return {
        "GET": servers.get,
        "GET cached": cached,
        "PUT status": put,
        "PUT status, watched": put,
    }


def _measure(
    plane: Any, kind: str, send: Callable[[str], object], names: list[str], count: int
) -> str:
    from bench.lifecycle_kube import _plane_cpu

    before, started = _plane_cpu(plane), time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, [names[i % len(names)] for i in range(count)]))
    after, wall = _plane_cpu(plane), time.perf_counter() - started
    api = (after["kube-apiserver"] - before["kube-apiserver"]) * 1000 / count
    etcd = (after["etcd"] - before["etcd"]) * 1000 / count
    return (
        f"{kind:22s} API server {api:.2f} ms, etcd {etcd:.2f} ms per request ({count / wall:.0f}/s)"
    )


class _Watcher:
    """One more watch of the Servers, read to its end in a thread of its own."""

    def __init__(self, plane: Any, store: Any) -> None:
        self._client = plane.client()
        self._stopping = threading.Event()
        self._open = threading.Event()
        path = store.servers.collection
        self._thread = threading.Thread(target=self._follow, args=(path,), daemon=True)
        self._thread.start()
        self._open.wait(30)

    def _follow(self, path: str) -> None:
        params = {"watch": "true", "resourceVersion": "0"}
        try:
            with self._client.stream("GET", path, params=params, timeout=None) as answer:
                self._open.set()
                for _ in answer.iter_lines():
                    if self._stopping.is_set():
                        return
        except (httpx.HTTPError, OSError, RuntimeError):  # closed under it by stop()
            self._open.set()

    def stop(self) -> None:
        self._stopping.set()
        self._client.close()
        self._thread.join(timeout=5)


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    main()
