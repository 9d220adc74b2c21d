"""The body of a Redfish PATCH: only properties the resource has, with values it allows.

DSP0266 ("PATCH (update)"): a service may leave out, or answer 400 to, a property
it does not support; many BMCs refuse the whole request for it (a ``Boot`` object
without ``BootSourceOverrideMode`` refusing a PATCH that names it). DSP0266 ("Allowable values"): a property's
``<name>@Redfish.AllowableValues`` annotation lists the values the service takes
for it. So a property the resource does not show is left out (or, when the
operation means nothing without it, the operation is refused before anything is
sent), and a value the annotation does not list is refused, naming what is allowed.

Pure: the resource's JSON and the wanted values in, a body out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Refused", "Want", "allowable", "patch_body"]


@dataclass(frozen=True, slots=True)
class Want:
    """A value to write; ``required`` when the operation means nothing without it."""

    value: object
    required: bool = False


class Refused(Exception):
    """A wanted property the resource does not have (``allowed`` None), or a value
    outside its ``@Redfish.AllowableValues``."""

    def __init__(self, name: str, value: object, allowed: tuple[object, ...] | None) -> None:
        self.name, self.value, self.allowed = name, value, allowed
        if allowed is None:
            text = f"the BMC's resource has no {name} property"
        else:
            text = f"{name} {_show(value)} is not among the values the BMC allows"
        super().__init__(text)

    @property
    def offers(self) -> str | None:
        """``allows: A, B`` for a hint, when the resource lists its values."""
        if self.allowed is None:
            return None
        return "allows: " + (", ".join(sorted(_show(v) for v in self.allowed)) or "nothing")


def allowable(resource: Mapping[str, Any], name: str) -> tuple[object, ...] | None:
    """The values ``name@Redfish.AllowableValues`` lists; ``None`` when not annotated."""
    values = resource.get(f"{name}@Redfish.AllowableValues")
    return tuple(values) if isinstance(values, list) else None


def patch_body(
    resource: Mapping[str, Any], wants: Mapping[str, Want]
) -> tuple[dict[str, object], tuple[str, ...]]:
    """``(body, left_out)``: the wanted properties the resource has, and the names of
    the optional ones it lacks. Raises ``Refused`` for a required property it lacks
    or any value it does not allow."""
    body: dict[str, object] = {}
    left_out: list[str] = []
    for name, want in wants.items():
        if name not in resource:
            if want.required:
                raise Refused(name, want.value, None)
            left_out.append(name)
            continue
        allowed = allowable(resource, name)
        if allowed is not None and want.value not in allowed:
            raise Refused(name, want.value, allowed)
        body[name] = want.value
    return body, tuple(left_out)


def _show(value: object) -> str:
    return (
        "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )
