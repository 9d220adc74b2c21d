"""The lab's BMC service, run inside the lab's network namespace by `strata lab up`.

    ip netns exec strata-lab python -m strata.lab.daemon --file topology.yaml --workdir DIR

One Redfish service (``LabBMC``) on every BMC address of the topology, HTTPS with
a self-signed certificate for ``redfish://`` addresses (which is why the lab
example sets ``insecure: true``), plain HTTP for ``redfish+http://``. It writes
``ready`` in its work directory once it listens; SIGTERM powers every machine
off and ends it. With ``--seed IMAGE`` (a `strata seed build` image), the machine of
the seed's node has it in its drive and is switched on at start, as a person
switches on the first machine of an empty datacenter.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import signal
import sys
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strata.bmc.credentials import Credentials, CredentialsError, resolve_credentials
from strata.errors import StrataError
from strata.lab.machines import LabMachine
from strata.lab.network import bmc_network, bmc_nic, lab_network
from strata.lab.redfish import LabBMC
from strata.topology import Topology, load

__all__ = ["LabSeedError", "announce", "lab_credentials", "main", "seed_node", "self_signed"]

SEED_MEMORY_MIB = 1536  # the seed's live system runs from memory (its root a squashfs)


def self_signed(hosts: tuple[str, ...], cert: Path, key: Path) -> None:
    """A certificate for the BMC addresses, as a BMC fresh from the factory has one."""
    now = datetime.datetime.now(datetime.UTC)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Strata lab BMC")])
    sans = [x509.IPAddress(ipaddress.ip_address(h)) for h in hosts]
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key.touch(mode=0o600)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def lab_credentials(topology: Topology, base_dir: Path) -> Credentials:
    """The one user and password every lab BMC accepts (``CredentialsError`` if unset)."""
    refs = {n.bmc.credentials for n in topology.nodes}
    if len(refs) != 1 or None in refs:
        raise CredentialsError(
            "the lab's BMCs share one credentials entry: set bmc.credentials in defaults"
        )
    return resolve_credentials(topology.credentials[str(refs.pop())], base_dir)


def machines(
    topology: Topology,
    workdir: Path,
    seed: Path | None = None,
    no_media: frozenset[str] = frozenset(),
) -> dict[str, LabMachine]:
    """A machine per node: its first NIC on the provisioning bridge, one on the BMC
    network's bridge when the node has a NIC there; ``seed`` in the drive of the seed
    node's (``seed_node``); no virtual CD behind the BMCs of ``no_media``."""
    network, bmc = lab_network(topology), bmc_network(topology)
    own = seed_node(seed, topology) if seed is not None else None
    fleet = {}
    for n in topology.nodes:
        mac = bmc_nic(n, bmc.name) if bmc is not None else None
        tap = network.bmc_taps.get(n.name)
        machine = LabMachine(n.name, n.boot_mac, workdir, tap=network.taps[n.name])
        machine.more_nics = ((mac, tap),) if mac and tap else ()
        machine.virtual_media = n.name not in no_media
        if n.name == own:
            machine.medium, machine.memory_mib = seed, SEED_MEMORY_MIB
        fleet[n.name] = machine
    return fleet


def seed_node(image: Path, topology: Topology) -> str:
    """The node whose machine boots the seed ``image``: the one it was built for
    (``strata seed build --node``). ``SeedMediumError`` when it is not a seed image,
    ``LabSeedError`` when it is another topology's or names no node of this one."""
    from strata.seed.medium import read_payload
    from strata.seed.payload import MANIFEST, Manifest, PayloadError

    try:
        manifest = Manifest.from_json(read_payload(image, {MANIFEST}).get(MANIFEST, b""))
    except PayloadError as failure:
        raise LabSeedError(f"{image}: {failure}") from None
    if manifest.topology != topology.name:
        raise LabSeedError(
            f"{image} is a seed of topology {manifest.topology}, not {topology.name}"
        )
    if manifest.node is None or manifest.node not in {n.name for n in topology.nodes}:
        raise LabSeedError(
            f"{image} names no node of {topology.name} as its own machine ({manifest.node}): "
            "build it with --node NAME"
        )
    return manifest.node


class LabSeedError(StrataError):
    """A seed image the lab cannot give a machine."""

    kind = "lab-seed"


def _listener(topology: Topology) -> tuple[int, bool]:
    """The one (port, TLS) every Redfish BMC address of the lab uses (a fallback's too)."""
    redfish = [b for n in topology.nodes for b in n.bmcs if b.protocol != "ipmi"]
    pairs = {(b.port or 443, "+http" not in b.protocol) for b in redfish}
    if len(pairs) != 1 or any(not b.protocol.startswith("redfish") for b in redfish):
        raise SystemExit(
            "the lab's BMCs are Redfish, all on one port, or IPMI: check the BMC addresses"
        )
    return pairs.pop()


def _ipmi_bmcs(topology: Topology, fleet: dict[str, LabMachine], creds: Credentials) -> None:
    """An IPMI BMC (``strata.lab.ipmi``) for each ``ipmi://`` address of a node (its
    first or its fallback), answered on a thread."""
    bmcs = [(n.name, b) for n in topology.nodes for b in n.bmcs if b.protocol == "ipmi"]
    if not bmcs:
        return
    from strata.lab.ipmi import LabIPMI, serve_forever  # changes pyghmi's server class

    for name, b in bmcs:
        LabIPMI(fleet[name], b.host, b.port or 623, creds.username, creds.password.reveal())
    threading.Thread(target=serve_forever, name="ipmi", daemon=True).start()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seed", type=Path, help="a seed image, switched on at start")
    parser.add_argument("--without-virtual-media", action="append", default=[], metavar="NODE")
    parser.add_argument("--without-redfish", action="append", default=[], metavar="NODE")
    args = parser.parse_args()
    topology = load(args.file)
    creds = lab_credentials(topology, args.file.parent)
    fleet = machines(topology, args.workdir, args.seed, frozenset(args.without_virtual_media))
    served = {name: m for name, m in fleet.items() if name not in args.without_redfish}
    bmc = LabBMC(served, creds.username, creds.password.reveal())  # others: 404
    port, tls = _listener(topology)
    _ipmi_bmcs(topology, fleet, creds)
    cert = key = None
    if tls:
        cert, key = args.workdir / "bmc.pem", args.workdir / "bmc.key"
        self_signed(tuple(sorted({b.host for n in topology.nodes for b in n.bmcs})), cert, key)
    config = uvicorn.Config(
        bmc.app,
        host="0.0.0.0",
        port=port,
        log_level="warning",
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises SIGTERM once it has shut down: make that an exit, so the
    # finally below powers the machines off.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=announce, args=(server, args.workdir / "ready"), daemon=True).start()
    try:
        for machine in fleet.values():
            if machine.medium is not None:
                machine.power_on()  # the seed's: switched on by hand
        server.run()
    finally:
        for machine in fleet.values():
            machine.power_off()


def announce(server: object, ready: Path) -> None:
    """Writes the pid to ``ready`` once the uvicorn ``server`` listens (run it in a
    thread): what `strata lab up` waits for."""
    while not getattr(server, "started", False):
        time.sleep(0.05)
    ready.write_text(f"{os.getpid()}\n")


if __name__ == "__main__":
    main()
