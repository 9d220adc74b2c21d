"""What a move from a state file brings from the topology file (``strata pivot -f
FILE``): the Topology object the target's controller drives, and the BMC passwords
FILE's ``credentials`` keep on this machine (an environment variable, a file beside
FILE: ``strata.bmc.credentials``) as Secrets in the target — the latter only with the
person's consent (``--copy-credentials``; ``--leave-credentials`` says no).

Each credential read here (``password: {env: …}`` or ``{file: …}``) is referred to in
the Topology's spec as ``password: {secret: {name: <topology>-bmc-<credential>, key:
password}}`` (the Secret in the Topology's namespace), whether it is copied or left:
a Secret made later under that name is what the controller then reads. A credential
already ``{secret: …}`` is kept as written. A credential that cannot be read (the
variable unset, the file missing or unfit) blocks, naming the credential and where it
was looked for — never a value: the values are only in the Secrets' bodies
(``Handover.objects``, never in a repr or a message).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CONSENTS", "Handover", "InstallOptions", "handover", "secret_name"]

Obj = dict[str, Any]
Finding = tuple[str, str]
CONSENTS = ("", "copy", "leave")  # neither flag, --copy-credentials, --leave-credentials
KEY = "password"  # the key of the Secret made of a credential's password


@dataclass(frozen=True)
class InstallOptions:
    """``file``: FILE (None: no Topology object is made); ``credentials``: the person's
    consent, one of ``CONSENTS``."""

    file: Path | None = None
    credentials: str = ""


@dataclass
class Handover:
    """``objects``: the Secrets to make (their values inside), then the Topology
    object; ``findings``: (level, text), as preflight says them; ``external``: the
    Secrets FILE already refers to (namespace, name, key), read by the target's
    controller there."""

    objects: list[Obj] = field(repr=False)
    findings: list[Finding]
    external: list[tuple[str, str, str]] = field(default_factory=list)


def secret_name(topology: str, credential: str) -> str:
    """The Secret a credential's password becomes: ``<topology>-bmc-<credential>``."""
    return f"{topology}-bmc-{credential}"


def handover(options: InstallOptions, namespace: str, name: str) -> Handover:
    """What FILE brings into ``namespace`` for the topology ``name``. Raises nothing:
    what is wrong (FILE unreadable or invalid, another topology's, a credential that
    cannot be read, no consent) is a ``block`` finding."""
    file = options.file
    assert file is not None and options.credentials in CONSENTS
    document, found = _document(file, name)
    if document is None:
        return Handover([], found)
    secrets, external = _credentials(document, file, (namespace, name), options, found)
    from strata.operator.objects import topology_object
    from strata.operator.portable import portable

    document, refused = portable(document, file.parent)
    for r in refused:
        found.append(("block", f"{file}: {'.'.join(map(str, r.path))}: {r.message}"))
    topology = topology_object(document, namespace)
    return Handover([*secrets, topology], found, external)


def _document(file: Path, name: str) -> tuple[Obj | None, list[Finding]]:
    """FILE as a topology document (a Topology object's spec read as one), checked as
    ``strata validate`` checks it."""
    from ruamel.yaml import YAML

    from strata.ignition import fragment_problems
    from strata.operator.objects import topology_document
    from strata.topology.loader import check_file
    from strata.topology.object_form import is_object

    try:
        loaded = YAML(typ="safe", pure=True).load(file.read_text())
    except Exception as failure:  # unreadable, not YAML: said, not raised
        return None, [("block", f"{file}: cannot be read ({type(failure).__name__})")]
    document = topology_document(loaded) if is_object(loaded) else loaded
    if not isinstance(document, dict):
        return None, [("block", f"{file}: not a topology document")]
    found: list[Finding] = []
    named = (document.get("metadata") or {}).get("name")
    if named != name:
        text = f"{file} is the topology {named!r}, not {name!r} which moves (-t or FILE)"
        return None, [("block", text)]
    checked = check_file(file, fragment_check=fragment_problems)
    if checked.topology is None:
        errors = checked.errors
        first = "; ".join(f"{d.line}:{d.column}: {d.message}" for d in errors[:3])
        text = f"{file} is invalid ({len(errors)} errors: {first}): see strata validate -f {file}"
        found.append(("block", text))
    else:
        found.append(("ok", f"{file}: valid, made the Topology object {name} in the target"))
    return json.loads(json.dumps(document, default=str)), found


def _credentials(
    document: Obj,
    file: Path,
    where: tuple[str, str],
    options: InstallOptions,
    found: list[Finding],
) -> tuple[list[Obj], list[tuple[str, str, str]]]:
    """Rewrites ``document``'s env/file credentials to refer to their Secrets; returns
    the Secrets to make (with consent) and the Secrets already referred to."""
    from pydantic import ValidationError

    from strata.bmc.credentials import CredentialsError, resolve_credentials
    from strata.topology.spec import CredentialSpec

    namespace, name = where
    secrets, external, here = [], [], []
    for entry in document.get("credentials") or []:
        try:
            spec = CredentialSpec.model_validate(entry)
        except ValidationError:
            continue  # FILE is invalid: said above
        ref = spec.password
        if ref.secret is not None:
            external.append((ref.secret.namespace or namespace, ref.secret.name, ref.secret.key))
            continue
        looked = f"environment variable {ref.env}" if ref.env else f"file {ref.file}"
        secret = secret_name(name, spec.name)
        entry["password"] = {"secret": {"name": secret, "key": KEY}}
        here.append((spec.name, looked, secret))
        if options.credentials == "leave":
            continue
        try:
            password = resolve_credentials(spec, file.parent).password
        except CredentialsError as failure:
            found.append(("block", f"{failure} (looked for on this machine: {looked})"))
            continue
        if options.credentials == "copy":
            secrets.append(_secret(namespace, name, secret, password.reveal()))
    found += _consent(options.credentials, here, namespace)
    return secrets, external


def _consent(consent: str, here: list[tuple[str, str, str]], namespace: str) -> list[Finding]:
    if not here:
        return []
    if consent == "copy":
        return [
            ("ok", f"credentials {c} ({looked}) becomes Secret {namespace}/{s}, key {KEY}")
            for c, looked, s in here
        ]
    if consent == "leave":
        return [
            (
                "note",
                f"credentials {c} ({looked}) stays on this machine: the target's controller "
                f"cannot reach the BMCs using it until Secret {namespace}/{s} (key {KEY}) is made",
            )
            for c, looked, s in here
        ]
    listed = ", ".join(f"{c} ({looked})" for c, looked, _ in here)
    return [
        (
            "block",
            f"credentials {listed} are on this machine: the target's controller will not be "
            "able to reach the BMCs using them — --copy-credentials makes each a Secret in "
            f"{namespace}, --leave-credentials leaves them here",
        )
    ]


def _secret(namespace: str, topology: str, name: str, password: str) -> Obj:
    labels = {
        "strata.dev/topology": topology,
        "strata.dev/secret": "bmc",
        "app.kubernetes.io/part-of": "strata",
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {KEY: base64.b64encode(password.encode()).decode()},
    }
