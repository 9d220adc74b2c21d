"""What the seed's live system runs at boot: ``strata seed start --medium DIR``.

It reads ``DIR/strata/`` (``strata.seed.payload``), opens the secrets with the passphrase
(``--passphrase-file``, ``strata.seed.passphrase=`` on the kernel command line, or asked
at the console), and lays out a private run directory (0700; every file in it 0600):

- ``secrets/NAME``: each BMC password on one line (``credentials[].password`` then
  reads ``{file: secrets/NAME}``: the check ``strata validate`` makes of such a file);
- ``files/...``: the Ignition fragments and CA bundles the topology names;
- ``topology.yaml``: the seed's topology with those references pointed there.

The run itself is ``strata apply`` on that file (``strata.seed.start.apply_command``).
Messages name files and secrets, never a value.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.seed.payload import PLAIN, Contents, Manifest, NetworkSide, safe_name
from strata.seed.sealed import Secrets, WrongPassphrase, open_plain, unseal
from strata.store.state_file import write_private

__all__ = [
    "CMDLINE_KEY",
    "START_LINE",
    "NetworkStep",
    "NoPassphrase",
    "RunDirectory",
    "apply_command",
    "artifact_problems",
    "cmdline_passphrase",
    "local_links",
    "network_step",
    "open_secrets",
    "prepare",
    "run_topology",
    "status_host",
]

START_LINE = "strata seed: starting"
CONSOLE_TRIES = 3  # a passphrase typed at the console, asked again after a mistake
CMDLINE_KEY = "strata.seed.passphrase"


class NoPassphrase(StrataError):
    """The seed's secrets are sealed and no passphrase was given."""

    kind = "seed-passphrase"
    exit_code = 2
    hint = (
        f"give it at the console, as {CMDLINE_KEY}=… on the kernel command line, "
        "or with --passphrase-file FILE"
    )


def cmdline_passphrase(cmdline: str) -> str | None:
    """The value of ``strata.seed.passphrase=`` on a kernel command line (quoted as the
    kernel takes it: ``key="a b"``), or None."""
    try:
        words = shlex.split(cmdline)
    except ValueError:
        words = cmdline.split()
    for word in words:
        key, eq, value = word.partition("=")
        if key == CMDLINE_KEY and eq:
            return value
    return None


def open_secrets(
    contents: Contents,
    passphrase_file: Path | None,
    cmdline: Path | None,
    ask: Callable[[], str] | None,
) -> tuple[Secrets, str]:
    """The seed's secrets and where the passphrase came from. The passphrase is taken from
    ``passphrase_file`` (its first line), else the kernel command line at ``cmdline``,
    else ``ask()`` (the console, up to ``CONSOLE_TRIES`` times; None: no terminal). ``NoPassphrase`` when sealed and none
    is given; ``strata.seed.sealed``'s errors when it does not open them."""
    info = contents.manifest.secrets
    if contents.secrets is None:
        return Secrets({}), "the seed holds no secret"
    if not info.sealed:
        return open_plain(contents.secrets), f"in clear ({PLAIN}, --plaintext-secrets)"
    passphrase, source = _passphrase(passphrase_file, cmdline, ask)
    if passphrase is None:
        raise NoPassphrase(
            "the seed's secrets are sealed and no passphrase was given, so Strata does not start"
        )
    return _unseal(contents.secrets, passphrase, source, ask)


def _unseal(
    sealed: bytes, passphrase: str, source: str, ask: Callable[[], str] | None
) -> tuple[Secrets, str]:
    """At the console a mistyped passphrase is asked again, ``CONSOLE_TRIES`` times in all."""
    tries = CONSOLE_TRIES if source == "the console" and ask is not None else 1
    for attempt in range(1, tries + 1):
        try:
            return unseal(sealed, passphrase), f"unsealed with the passphrase from {source}"
        except WrongPassphrase:
            if attempt == tries or ask is None:
                raise
            print(
                f"the passphrase does not open the seed's secrets; again ({attempt}/{tries})",
                file=sys.stderr,
                flush=True,
            )
            passphrase = ask()
    raise AssertionError("unreachable")


def _passphrase(
    passphrase_file: Path | None, cmdline: Path | None, ask: Callable[[], str] | None
) -> tuple[str | None, str]:
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NoPassphrase(
                f"--passphrase-file {passphrase_file}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        return text.splitlines()[0] if text else "", f"--passphrase-file {passphrase_file}"
    if cmdline is not None:
        try:
            found = cmdline_passphrase(cmdline.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            found = None
        if found is not None:
            return found, f"the kernel command line ({CMDLINE_KEY}=)"
    if ask is not None:
        return ask(), "the console"
    return None, ""


@dataclass(frozen=True, slots=True)
class RunDirectory:
    root: Path  # 0700
    topology: Path  # root/topology.yaml
    secrets: tuple[str, ...]  # files written under root/secrets, by name


def prepare(contents: Contents, secrets: Secrets, root: Path) -> RunDirectory:
    """Lay out the run directory ``root`` (created 0700, or made 0700 when there). Raises
    ``OSError`` as the file system does."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    for stale in sorted((root / "secrets").glob("*")):  # a previous seed's: not this one's
        stale.unlink()
    written = []
    for name in secrets.names():
        kind, _, credential = name.partition("/")
        if kind != "credentials":
            continue  # a kind this Strata does not know how to hand over
        write_private(root / "secrets" / safe_name(credential), secrets.reveal(name) + "\n")
        written.append(credential)
    placed = {}
    for named in contents.manifest.files:
        target = root / named.path
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.write_bytes(contents.files[named.name])
        os.chmod(target, 0o600)
        placed[named.name] = named.path
    text = run_topology(contents.topology.decode("utf-8"), written, placed)
    write_private(root / "topology.yaml", text)
    return RunDirectory(root, root / "topology.yaml", tuple(written))


def artifact_problems(manifest: Manifest, strata: Path) -> list[str]:
    """Each artifact of ``manifest`` missing under ``strata`` (the medium's directory) or
    of another size than seed.json says (a medium written short); sums are
    `strata seed inspect`'s to check, reading every byte."""
    problems = []
    for artifact in manifest.artifacts:
        try:
            size = (strata / artifact.path).stat().st_size
        except OSError:
            problems.append(f"{artifact.path} is missing")
            continue
        if size != artifact.size:
            problems.append(f"{artifact.path} has {size} bytes, not {artifact.size}")
    return problems


def run_topology(text: str, credentials: list[str], files: Mapping[str, str]) -> str:
    """The topology ``text`` with each credential of ``credentials`` reading its password
    from ``secrets/NAME`` and each named file of ``files`` (name -> path in the run
    directory) read from there; comments and order kept (ruamel's round trip)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    document = yaml.load(text)
    for credential in document.get("credentials") or []:
        if credential.get("name") in credentials:
            credential["password"] = {"file": f"secrets/{safe_name(credential['name'])}"}
    _repoint(document, files)
    out = StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _repoint(value: Any, files: Mapping[str, str]) -> None:
    """``caBundle: NAME`` and ``ignition: [{file: NAME}]`` anywhere, pointed at ``files``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "caBundle" and isinstance(inner, str) and inner in files:
                value[key] = files[inner]
            elif key == "ignition" and isinstance(inner, list):
                for entry in inner:
                    if isinstance(entry, dict) and entry.get("file") in files:
                        entry["file"] = files[entry["file"]]
            else:
                _repoint(inner, files)
    elif isinstance(value, list):
        for inner in value:
            _repoint(inner, files)


def apply_command(
    manifest: Manifest,
    run: RunDirectory,
    artifacts: Path,
    dhcp_interface: str | None,
    *,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The ``strata apply`` command line of the seed's run: the boot service, DHCP on the
    provisioning NIC (when known), the medium's artifact mirror, the state beside the run
    directory; with a pivot layer, the BMC credentials copied into its cluster (the
    controller there reaches the BMCs with them)."""
    command = [sys.executable, "-m", "strata.cli.app", "apply", "-f", str(run.topology)]
    command += ["--state", str(run.root / "state" / "strata.db"), "--artifacts", str(artifacts)]
    if dhcp_interface is not None:
        command += ["--dhcp-interface", dhcp_interface]
    if manifest.pivot is not None and run.secrets:
        command.append("--copy-credentials")
    return command + list(extra)


@dataclass(frozen=True, slots=True)
class NetworkStep:
    """What the seed does for one of its networks: the interface found (by MAC), the
    ``ip`` commands that give it its address (none when it has it), and a line to say."""

    interface: str | None
    commands: tuple[tuple[str, ...], ...]
    line: str


def network_step(side: NetworkSide, links: Mapping[str, tuple[str, list[str]]]) -> NetworkStep:
    """``side``'s setup on this machine. ``links``: interface -> (MAC, addresses), as
    ``local_links`` reads them."""
    where = f"{side.purpose} network {side.network} ({side.cidr})"
    if side.mac is None:
        return NetworkStep(
            None,
            (),
            f"{where}: the topology names no NIC of this machine there (seed build "
            "--node): nothing set up; give this machine its address there, or a route",
        )
    found = next((n for n, (mac, _) in links.items() if mac.lower() == side.mac.lower()), None)
    if found is None:
        return NetworkStep(None, (), f"{where}: no interface has MAC {side.mac}; nothing set up")
    if side.address is None:
        return NetworkStep(found, (), f"{where}: {found} ({side.mac}), address by DHCP")
    if side.address.split("/")[0] in links[found][1]:
        return NetworkStep(found, (), f"{where}: {found} has {side.address}")
    commands = (
        ("ip", "link", "set", found, "up"),
        ("ip", "address", "add", side.address, "dev", found),
    )
    return NetworkStep(found, commands, f"{where}: {found} gets {side.address}")


def local_links() -> dict[str, tuple[str, list[str]]]:
    """This machine's interfaces: name -> (MAC, its IP addresses) (psutil: getifaddrs(3))."""
    import socket

    import psutil

    links: dict[str, tuple[str, list[str]]] = {}
    for name, entries in psutil.net_if_addrs().items():
        mac = next((e.address for e in entries if e.family == psutil.AF_LINK), "")
        ips = [
            e.address.split("%")[0]
            for e in entries
            if e.family in (socket.AF_INET, socket.AF_INET6)
        ]
        links[name] = (mac, ips)
    return links


def status_host(
    sides: Iterable[NetworkSide], links: Mapping[str, tuple[str, list[str]]]
) -> str | None:
    """Where the seed serves its status: its address on the provisioning network (the
    topology's, when this machine has it; else any of this machine's in that network's
    CIDR), or None when it has none there. ``links`` as ``local_links`` reads them."""
    import ipaddress

    local = [ip for _name, (_mac, ips) in sorted(links.items()) for ip in ips]
    for side in sides:
        if side.purpose != "provisioning":
            continue
        named = side.address.split("/")[0] if side.address else None
        if named is not None and named in local:
            return named
        network = ipaddress.ip_network(side.cidr, strict=False)
        for ip in local:
            try:
                if ipaddress.ip_address(ip) in network:
                    return ip
            except ValueError:
                continue
    return None
