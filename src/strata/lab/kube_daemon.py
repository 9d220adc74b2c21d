"""Where lab machines hand over their Ignition config for the lab to run Kubernetes on
their behalf (``strata.lab.kube_standin``), run inside the lab's namespace by
`strata lab up`:

    nsenter --net=/run/netns/strata-lab unshare --mount --propagation private \\
        python -m strata.lab.kube_daemon \\
        --listen 192.168.110.1:9180 --bridge prov0 --workdir DIR --run-dir /run/strata-lab/lab

Not ``ip netns exec``: that mounts a sysfs of the namespace over ``/sys``, hiding the
cgroup hierarchies the kubelet needs; ``unshare --mount`` keeps the kubelets' mounts
in a mount namespace of the daemon's own, gone when it and its children are.

The stand-in OS, once it has fetched its config, POSTs it (the JSON it fetched, as is)
to ``/v1/ignition``; the machine is the one the config names (``/etc/hostname``). 202
means its stand-in is starting, 400 that the config could not be read. ``GET /v1/machines`` lists each machine's stand-in
(address, processes alive, error). It writes ``kube-ready`` in its work directory once
it listens; SIGTERM stops every kubelet and control plane, then it.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from strata.errors import StrataError
from strata.lab.daemon import announce
from strata.lab.kube_standin import KubeStandIn

__all__ = ["HANDOFF_PORT", "app", "main"]

HANDOFF_PORT = 9180  # the stand-in OS's init.sh posts here, at its DHCP router
MAX_CONFIG = 4 * 1024 * 1024  # bytes: an Ignition config with the PKI is ~40 KB
log = logging.getLogger("strata.lab.kube")


def app(standin: KubeStandIn) -> Starlette:
    async def hand_over(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():  # never more than the limit in memory
            body += chunk
            if len(body) > MAX_CONFIG:
                return JSONResponse({"error": "config larger than 4 MiB"}, 413)
        try:
            name = await run_in_threadpool(standin.hand_over, body)
        except StrataError as err:
            log.error("a handed-over config: %s", err)
            return JSONResponse({"error": str(err)}, 400)
        log.info("%s: handed over its Ignition config (%d bytes)", name, len(body))
        return JSONResponse({"machine": name}, 202)

    async def machines(request: Request) -> Response:
        return JSONResponse({name: m.describe() for name, m in sorted(standin.machines.items())})

    return Starlette(
        routes=[
            Route("/v1/ignition", hand_over, methods=["POST"]),
            Route("/v1/machines", machines, methods=["GET"]),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--bridge", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout, force=True
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args.workdir.mkdir(parents=True, exist_ok=True)
    # a new daemon's machines are new: nothing of an earlier lab's clusters carries over
    # (its etcd, Nodes, tokens and kubelet credentials would answer for the new ones)
    for old in (args.workdir / "kube", args.run_dir):
        shutil.rmtree(old, ignore_errors=True)
    host, _, port = args.listen.rpartition(":")
    standin = KubeStandIn(args.workdir, args.run_dir, args.bridge)
    server = uvicorn.Server(
        uvicorn.Config(app(standin), host=host, port=int(port), log_level="warning")
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ready = args.workdir / "kube-ready"
    threading.Thread(target=announce, args=(server, ready), daemon=True).start()
    try:
        server.run()
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
