"""What a seed holds under ``/strata/`` on its medium, and its table of contents.

The payload is a mapping of paths to contents (``bytes``, or a ``Path`` for an artifact
too large to hold in memory), as ``strata.seed.image.build_image`` writes it:

- ``seed.json``: the ``Manifest`` — format version, Strata's version, the topology's
  name and SHA-256, the seed's node and network setup, every artifact with its size and
  SHA-256, the files the topology names, and how the secrets are kept;
- ``topology.yaml``: the topology exactly as given (its SHA-256 is ``sha256sum``'s);
- ``secrets.sealed`` (``strata.seed.sealed``), or ``secrets.json`` in clear only with
  ``--plaintext-secrets``; neither when the topology references no secret;
- ``files/...``: the Ignition fragments and CA bundles the topology names;
- ``artifacts/...``: the artifact mirror, as ``strata artifacts import`` laid it out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strata import __version__
from strata.errors import StrataError
from strata.seed.sealed import CIPHER, SCRYPT_N, Secrets, seal, seal_plain
from strata.topology.named_files import (
    CA_BUNDLE,
    IGNITION_FRAGMENT,
    FileKind,
    NamedFileError,
    NamedFiles,
)

if TYPE_CHECKING:
    from strata.topology import Topology

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "Artifact",
    "Manifest",
    "NamedFile",
    "NetworkSide",
    "PayloadError",
    "SecretsInfo",
    "build_payload",
    "mirror_files",
    "named_files",
    "read_contents",
    "read_directory",
    "seed_network",
    "sha256_of",
    "topology_secrets",
]

FORMAT_VERSION = 1
MANIFEST, TOPOLOGY = "seed.json", "topology.yaml"
SEALED, PLAIN = "secrets.sealed", "secrets.json"
_CHUNK = 1 << 20
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class PayloadError(StrataError):
    """A seed's payload cannot be built or read; the message says which part and why."""

    kind = "seed-payload"
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Artifact:
    path: str  # under the payload: artifacts/OS/VERSION/FILE
    size: int  # bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class NamedFile:
    name: str  # as the topology names it
    path: str  # under the payload: files/DIGEST-NAME
    sha256: str


@dataclass(frozen=True, slots=True)
class NetworkSide:
    """The seed's machine on one network of the topology."""

    purpose: str  # bmc | provisioning
    network: str
    cidr: str
    interface: str | None = None  # the NIC's name, as the topology gives it
    mac: str | None = None
    address: str | None = None  # ADDRESS/PREFIX, static; None: none known (or DHCP)
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class SecretsInfo:
    sealed: bool  # encrypted with a passphrase (False: in clear, or none at all)
    file: str | None  # secrets.sealed, secrets.json, or None: the topology references none
    names: tuple[str, ...] = ()  # credentials/NAME: what is inside, never a value
    cipher: str | None = None  # e.g. scrypt+AES-256-GCM


@dataclass(frozen=True, slots=True)
class Manifest:
    """``seed.json``: the seed's table of contents (JSON, keys as the fields)."""

    topology: str  # the topology's metadata.name
    topology_sha256: str
    topology_size: int
    node: str | None  # the seed's own machine in the topology (--node), if any
    network: tuple[NetworkSide, ...]
    secrets: SecretsInfo
    artifacts: tuple[Artifact, ...] = ()
    files: tuple[NamedFile, ...] = ()
    pivot: str | None = None  # the layer the management plane moves into, if any
    strata: str = __version__
    format: int = FORMAT_VERSION

    def side(self, purpose: str) -> NetworkSide | None:
        return next((s for s in self.network if s.purpose == purpose), None)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """``PayloadError`` when ``raw`` is not a seed.json this Strata reads."""
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            if data.get("format") != FORMAT_VERSION:
                raise PayloadError(
                    f"seed.json is of format {data.get('format')!r}; this Strata "
                    f"({__version__}) reads format {FORMAT_VERSION}"
                )
            return cls(
                **{k: v for k, v in data.items() if k not in _NESTED},
                network=tuple(NetworkSide(**s) for s in data["network"]),
                secrets=SecretsInfo(
                    **{**data["secrets"], "names": tuple(data["secrets"]["names"])}
                ),
                artifacts=tuple(Artifact(**a) for a in data["artifacts"]),
                files=tuple(NamedFile(**f) for f in data["files"]),
            )
        except PayloadError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise PayloadError(f"seed.json cannot be read: {exc}") from None


_NESTED = {"network", "secrets", "artifacts", "files"}


@dataclass(slots=True)
class Contents:
    """A payload being read: its manifest and the small files, checked against it."""

    manifest: Manifest
    topology: bytes
    secrets: bytes | None
    files: dict[str, bytes] = field(default_factory=dict)  # as the topology names them


def read_contents(payload: Mapping[str, bytes]) -> Contents:
    """The manifest, topology, secrets document and named files of ``payload`` (paths under
    /strata/ -> bytes; artifacts are not needed). ``PayloadError`` when one is missing
    or does not match its SHA-256 in the manifest."""
    if MANIFEST not in payload:
        raise PayloadError("the medium has no strata/seed.json: not a Strata seed")
    manifest = Manifest.from_json(payload[MANIFEST])
    topology = payload.get(TOPOLOGY)
    if topology is None or sha256_bytes(topology) != manifest.topology_sha256:
        raise PayloadError("strata/topology.yaml is missing or does not match its SHA-256")
    secrets = None
    if manifest.secrets.file is not None:
        secrets = payload.get(manifest.secrets.file)
        if secrets is None:
            raise PayloadError(f"strata/{manifest.secrets.file} is missing")
    files = {}
    for named in manifest.files:
        raw = payload.get(named.path)
        if raw is None or sha256_bytes(raw) != named.sha256:
            raise PayloadError(f"strata/{named.path} is missing or does not match its SHA-256")
        files[named.name] = raw
    return Contents(manifest, topology, secrets, files)


def read_directory(strata: Path) -> dict[str, bytes]:
    """The small files of a medium's ``strata/`` directory (not the artifacts) as a payload
    mapping. ``PayloadError`` when the directory is absent."""
    if not (strata / MANIFEST).is_file():
        raise PayloadError(f"{strata} has no seed.json: not a Strata seed's medium")
    found = {}
    for path in _files(strata):
        relative = path.relative_to(strata).as_posix()
        if not relative.startswith("artifacts/"):
            found[relative] = path.read_bytes()
    return found


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def sha256_of(path: Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of the file at ``path``, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def safe_name(name: str) -> str:
    """``name``'s last part with only letters, digits, ``.``, ``_``, ``-``."""
    return _SAFE.sub("_", Path(name).name) or "file"


def to_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)


def seed_network(topology: Topology, node: str | None) -> tuple[NetworkSide, ...]:
    """The seed's machine on the topology's (first) BMC and provisioning networks: with
    ``node``, that node's NIC on each (name, MAC, static address with the network's
    prefix); without, the networks alone. ``PayloadError`` for an unknown node, or one
    with no static address on the provisioning network (the seed serves DHCP there)."""
    machine = None
    if node is not None:
        try:
            machine = topology.node(node)
        except KeyError:
            raise PayloadError(f"--node {node}: no such node in topology {topology.name}") from None
    sides = []
    for purpose in ("bmc", "provisioning"):
        net = next((n for n in topology.networks.values() if n.purpose == purpose), None)
        if net is None:
            continue
        nic = next((c for c in machine.nics if c.network == net.name), None) if machine else None
        if machine is not None and purpose == "provisioning" and (nic is None or nic.ip is None):
            raise PayloadError(
                f"node {node} has no static address on provisioning network {net.name}: the "
                "seed serves DHCP and the boot service there, so it needs one (ip: in its NIC)"
            )
        address = f"{nic.ip}/{net.cidr.prefixlen}" if nic and nic.ip else None
        gateway = str(net.gateway) if net.gateway else None
        side = NetworkSide(purpose, net.name, str(net.cidr), gateway=gateway, address=address)
        sides.append(replace(side, interface=nic.name, mac=nic.mac) if nic else side)
    return tuple(sides)


def topology_secrets(topology: Topology, base_dir: Path) -> Secrets:
    """Every BMC password the topology references (env, file), read now, as
    ``credentials/NAME``. ``CredentialsError`` naming a reference that cannot be read (a
    Kubernetes Secret among them: the seed runs outside any cluster)."""
    from strata.bmc.credentials import resolve_credentials

    return Secrets(
        {
            f"credentials/{name}": resolve_credentials(spec, base_dir).password.reveal()
            for name, spec in topology.credentials.items()
        }
    )


def named_files(document: Any) -> dict[str, FileKind]:
    """The files a topology document (parsed YAML) names besides passwords: each
    ``caBundle`` and each ``ignition[].file``, with its kind."""
    found: dict[str, FileKind] = {}
    if isinstance(document, dict):
        for key, inner in document.items():
            if key == "caBundle" and isinstance(inner, str):
                found[inner] = CA_BUNDLE
            elif key == "ignition" and isinstance(inner, list):
                for entry in inner:
                    if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                        found[entry["file"]] = IGNITION_FRAGMENT
            else:
                found |= named_files(inner)
    elif isinstance(document, list):
        for inner in document:
            found |= named_files(inner)
    return found


def mirror_files(mirror: Path | None) -> list[tuple[Artifact, Path]]:
    """Every regular file of the artifact mirror, sorted, with its size and SHA-256;
    ``PayloadError`` for anything else there (a symbolic link, a device)."""
    if mirror is None or not mirror.is_dir():
        return []
    out = []
    for path in sorted(mirror.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise PayloadError(f"{path}: not a regular file; the seed carries only files")
        if path.is_file():
            size, digest = sha256_of(path)
            out.append(
                (Artifact(f"artifacts/{path.relative_to(mirror).as_posix()}", size, digest), path)
            )
    return out


def build_payload(
    file: Path,
    topology: Topology,
    *,
    node: str | None = None,
    artifacts: Path | None = None,
    passphrase: str | None = None,
    plaintext: bool = False,
    scrypt_n: int = SCRYPT_N,
) -> tuple[Manifest, dict[str, bytes | Path]]:
    """The seed's manifest and payload (path under /strata/ -> bytes, or the ``Path`` of
    an artifact) for the topology at ``file`` (``topology``: it, validated). Secrets are
    sealed with ``passphrase``, or carried in clear when ``plaintext``. ``PayloadError``
    (no passphrase for secrets, a named file that cannot be read, an unknown node),
    ``CredentialsError`` (a secret that cannot be read now)."""
    from ruamel.yaml import YAML

    text = file.read_bytes()
    payload: dict[str, bytes | Path] = {TOPOLOGY: text}
    secrets = topology_secrets(topology, file.parent)
    info = _secrets(topology.name, secrets, passphrase, plaintext, scrypt_n, payload)
    files = []
    reader = NamedFiles.beside(file.parent)
    for name, kind in sorted(named_files(YAML(typ="safe").load(text)).items()):
        try:
            raw = reader.read(name, kind)
        except NamedFileError as exc:
            raise PayloadError(f"{file}: {exc}") from None
        digest = sha256_bytes(raw)
        files.append(NamedFile(name, f"files/{digest[:12]}-{safe_name(name)}", digest))
        payload[files[-1].path] = raw
    found = mirror_files(artifacts)
    payload.update({artifact.path: path for artifact, path in found})
    pivot = next((layer.name for layer in topology.layers if layer.pivot), None)
    network = seed_network(topology, node)
    manifest = Manifest(topology.name, sha256_bytes(text), len(text), node, network, info)
    manifest = replace(manifest, artifacts=tuple(a for a, _ in found), files=tuple(files))
    manifest = replace(manifest, pivot=pivot)
    payload[MANIFEST] = manifest.to_json()
    return manifest, payload


def _secrets(
    topology: str,
    secrets: Secrets,
    passphrase: str | None,
    plaintext: bool,
    scrypt_n: int,
    payload: dict[str, bytes | Path],
) -> SecretsInfo:
    if not len(secrets):
        return SecretsInfo(sealed=False, file=None)
    names = tuple(secrets.names())
    if plaintext:
        payload[PLAIN] = seal_plain(secrets)
        return SecretsInfo(sealed=False, file=PLAIN, names=names)
    if passphrase is None:
        raise PayloadError(
            f"topology {topology} references {len(secrets)} secret(s) (BMC passwords): give a "
            "passphrase to seal them (asked twice at a terminal, or --passphrase-file), or "
            "--plaintext-secrets to carry them in clear"
        )
    payload[SEALED] = seal(secrets, passphrase, n=scrypt_n)
    return SecretsInfo(sealed=True, file=SEALED, names=names, cipher=CIPHER)
