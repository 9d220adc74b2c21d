"""Label selectors as CAPM3 reads a Metal3MachineTemplate's ``hostSelector``:
``matchLabels`` (each key equal to its value) and ``matchExpressions`` (each
requirement true), all ANDed.

CAPM3 builds each requirement with ``labels.NewRequirement(key,
strings.ToLower(operator), values)`` (cluster-api-provider-metal3, baremetal/
metal3machine_manager.go), so operators are the ``k8s.io/apimachinery/pkg/selection``
ones in any case: ``in``, ``notin``, ``exists``, ``!`` (does not exist), ``=``, ``==``,
``!=``, ``gt``, ``lt``; Kubernetes' ``DoesNotExist`` spelling is taken for ``!``.
Semantics as ``labels.Requirement.Matches``: ``notin`` and ``!=`` hold for a host
without the label; ``gt``/``lt`` compare integers and fail when the label is absent or
not an integer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from strata.metal3.reading import CapiObject

__all__ = ["selects"]

OPERATORS = frozenset({"in", "notin", "exists", "!", "doesnotexist", "=", "==", "!=", "gt", "lt"})


def selects(
    selector: Mapping[str, Any],
    labels: Mapping[str, str],
    where: CapiObject,
    path: Sequence[str],
) -> bool:
    """Whether ``selector`` (a hostSelector) selects a host with ``labels``; an empty
    selector selects none. ``ImportError_`` located in ``where`` (at ``path``) for a
    requirement that is not one."""
    pairs = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not pairs and not expressions:
        return False
    if any(labels.get(str(k)) != str(v) for k, v in dict(pairs).items()):
        return False
    for index, requirement in enumerate(expressions):
        at = (*path, "matchExpressions", index)
        if not _holds(_checked(requirement, where, at), labels):
            return False
    return True


def _checked(
    requirement: Any, where: CapiObject, at: tuple[Any, ...]
) -> tuple[str, str, list[str]]:
    if not isinstance(requirement, dict) or not isinstance(requirement.get("key"), str):
        raise where.source.fail(at, "a matchExpressions requirement needs a key (a string)")
    operator = str(requirement.get("operator", "")).lower()
    values = [str(v) for v in requirement.get("values") or []]
    if operator not in OPERATORS:
        known = "In, NotIn, Exists, DoesNotExist, =, ==, !=, Gt, Lt"
        message = f"operator {requirement.get('operator')!r} is not a label selector's ({known})"
        raise where.source.fail((*at, "operator"), message)
    if operator in ("in", "notin") and not values:
        raise where.source.fail((*at, "values"), f"operator {operator} needs values")
    if operator in ("=", "==", "!=", "gt", "lt") and len(values) != 1:
        raise where.source.fail((*at, "values"), f"operator {operator} needs exactly one value")
    if operator in ("exists", "!", "doesnotexist") and values:
        raise where.source.fail((*at, "values"), f"operator {operator} takes no values")
    if operator in ("gt", "lt") and not _integer(values[0]):
        raise where.source.fail((*at, "values"), f"operator {operator} needs an integer value")
    return requirement["key"], operator, values


def _holds(requirement: tuple[str, str, list[str]], labels: Mapping[str, str]) -> bool:
    key, operator, values = requirement
    value = labels.get(key)
    if operator in ("in", "=", "=="):
        return value is not None and value in values
    if operator in ("notin", "!="):
        return value is None or value not in values
    if operator == "exists":
        return value is not None
    if operator in ("!", "doesnotexist"):
        return value is None
    if value is None or not _integer(value):
        return False
    return int(value) > int(values[0]) if operator == "gt" else int(value) < int(values[0])


def _integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
