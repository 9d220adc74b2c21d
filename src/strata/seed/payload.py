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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from strata import __version__
from strata.errors import StrataError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "Artifact",
    "Manifest",
    "NamedFile",
    "NetworkSide",
    "PayloadError",
    "SecretsInfo",
    "sha256_of",
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
