"""The hardware of the Redfish comparison, in a process of its own so its CPU is
counted for neither controller: sushy-tools' emulator (fake driver) holding N
systems, the machines behind them (``tests.support.machine_sim``: a machine
powered on with a one-time network boot fetches its iPXE script, Ignition
config and posts its phone-home to the boot service at ``--boot-url``), and a
small HTTP server with a kernel and an initramfs for Ironic's ramdisk deploy.

Prints one JSON line (the BMC URL, the images URL and the systems), then serves
until its standard input closes. The BMC password comes from BENCH_BMC_PASSWORD.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.machine_sim import MachineSimulator  # noqa: E402
from tests.support.redfish_emulator import USERNAME, start_emulator  # noqa: E402

PASSWORD_ENV = "BENCH_BMC_PASSWORD"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_images(directory: Path) -> str:
    """A kernel and an initramfs (their content does not matter: nothing executes them)."""
    for name in ("vmlinuz", "initrd.img"):
        (directory / name).write_bytes(os.urandom(64 * 1024))
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", type=int, required=True)
    parser.add_argument("--boot-url", help="the boot service machines boot from (Strata's)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with tempfile.TemporaryDirectory(prefix="redfish-fleet-") as tmp:
        work = Path(tmp)
        (work / "images").mkdir()
        emulator = start_emulator(work, args.systems, os.environ[PASSWORD_ENV])
        if args.boot_url:
            MachineSimulator(emulator, emulator.systems, args.boot_url)
        described = {
            "bmc_url": f"http://127.0.0.1:{emulator.port}",
            "username": USERNAME,
            "images_url": serve_images(work / "images"),
            "systems": [(s.uuid, s.name, s.mac) for s in emulator.systems],
        }
        print(json.dumps(described), flush=True)
        sys.stdin.read()  # until the benchmark closes the pipe
        emulator.stop()


if __name__ == "__main__":
    main()
