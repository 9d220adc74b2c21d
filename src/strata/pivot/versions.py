"""Which Strata wrote what a move finds: the CRDs in a cluster (their annotation
``strata.dev/version``, ``strata.operator.crds.VERSION_ANNOTATION``) and a move's
journal (its ``strata`` field), and whether this Strata may work with it.

Compatible means the same major.minor (``0.1.0`` and ``0.1.7``; not ``0.2.0``): a
patch release changes neither the CRDs' schema nor the journal's fields, a minor one
may (before 1.0 the minor is the breaking number, Semantic Versioning 2.0.0 §4), so a
Strata of another minor is not trusted to read the objects or the journal. CRDs
without the annotation were installed before Strata wrote it, or by hand: said, not
refused (their served version is checked on its own, ``install.crd_findings``).
"""

from __future__ import annotations

from strata import __version__
from strata.operator.crds import VERSION_ANNOTATION
from strata.store.kube_api import Obj

__all__ = ["STRATA", "compatible", "crd_versions", "version_findings"]

STRATA = __version__


def compatible(other: str, ours: str = STRATA) -> bool:
    """The same major.minor (``"0.1.3"`` with ``"0.1.0"``: True); unparsable: False."""
    return _major_minor(other) is not None and _major_minor(other) == _major_minor(ours)


def _major_minor(version: str) -> tuple[int, int] | None:
    parts = version.strip().split(".")
    try:
        return (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        return None


def crd_versions(crds: dict[str, Obj | None]) -> dict[str, str | None]:
    """CRD name -> the Strata version that installed it (None: no annotation), of the
    CRDs ``strata.pivot.install.read_crds`` read; CRDs not installed are left out."""
    found: dict[str, str | None] = {}
    for name, there in crds.items():
        if there is not None:
            annotations = (there.get("metadata") or {}).get("annotations") or {}
            found[name] = annotations.get(VERSION_ANNOTATION)
    return found


def version_findings(crds: dict[str, Obj | None], where: str) -> list[tuple[str, str]]:
    """(level, text): the Strata of ``where``'s CRDs (``read_crds``) beside this one's;
    another major.minor blocks (a Strata version mismatch)."""
    found = crd_versions(crds)
    if not found:
        return [("note", f"{where}: no CRD of Strata installed; this is Strata {STRATA}")]
    out = []
    for name, version in sorted(found.items()):
        if version is None:
            text = f"{where}: CRD {name} does not say which Strata installed it (by hand?)"
            out.append(("note", text + f"; this is Strata {STRATA}"))
        elif not compatible(version):
            text = f"{where}: CRD {name} was installed by Strata {version}, this is Strata {STRATA}"
            out.append(
                ("block", text + " (compatible: the same major.minor): a Strata version mismatch")
            )
        else:
            out.append(
                ("ok", f"{where}: CRD {name} installed by Strata {version} (this: {STRATA})")
            )
    return out
