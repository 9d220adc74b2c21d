"""Translate sushy's and requests' exceptions into Strata's BMC errors, at the border.

An HTTP error keeps the BMC's own words: every message of its
``@Message.ExtendedInfo`` (DSP0266, "Error responses"), with the resolutions the
BMC gives as the hint; sushy keeps only the most severe one, and none at all when
the BMC marks them "Informational" (as iDRAC does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TypeVar

import requests
from sushy import exceptions as sushy_exc

from strata.bmc.errors import (
    AuthenticationFailed,
    BMCError,
    BMCFault,
    NotSupported,
    TimedOut,
    Unreachable,
    redact,
)
from strata.bmc.redfish_messages import describe, resolutions
from strata.bmc.types import BMCTarget

__all__ = ["translated"]

T = TypeVar("T")


def translated(
    target: BMCTarget, operation: str, secrets: Iterable[str], call: Callable[[], T]
) -> T:
    """Run ``call``; any library exception leaves as a ``BMCError`` naming node and BMC."""
    secrets = tuple(secrets)
    try:
        return call()
    except BMCError:
        raise
    except Exception as exc:
        raise _classify(target, operation, exc, secrets) from None


def _classify(target: BMCTarget, op: str, exc: Exception, secrets: tuple[str, ...]) -> BMCError:
    node, address = target.node, target.address

    def text(value: object) -> str:
        return redact(str(value), secrets)

    if isinstance(exc, sushy_exc.AccessError):
        return AuthenticationFailed(
            node,
            address,
            f"{op}: the BMC refused the credentials (HTTP {exc.status_code}: {_said(exc, text)})",
            hint="check the user name and password the credentials entry refers to",
        )
    if isinstance(exc, json.JSONDecodeError | ValueError):  # requests' JSONDecodeError is both
        return BMCFault(
            node, address, f"{op}: the BMC's answer is not valid Redfish JSON", transient=True
        )
    if isinstance(exc, sushy_exc.ConnectionError | requests.RequestException):
        return _connection(target, op, text(exc))
    if isinstance(exc, sushy_exc.MissingActionError | sushy_exc.MissingAttributeError):
        return NotSupported(node, address, f"{op}: {text(exc)}")
    if isinstance(exc, sushy_exc.HTTPError):
        detail = _said(exc, text)
        said_to_do = resolutions(exc.body) if isinstance(exc.body, dict) else None
        hint = text(said_to_do) if said_to_do else None
        status = exc.status_code or 0
        if status == 404:
            return NotSupported(
                node, address, f"{op}: the BMC has no such resource ({detail})", hint=hint
            )
        return BMCFault(
            node,
            address,
            f"{op}: HTTP {status}: {detail}",
            hint=hint,
            transient=status >= 500,
        )
    return BMCFault(node, address, f"{op}: unexpected {type(exc).__name__}: {text(exc)}")


def _said(exc: sushy_exc.HTTPError, text: Callable[[object], str]) -> str:
    """The BMC's own words (all its extended messages), redacted."""
    if isinstance(exc.body, dict) and exc.body:
        return text(describe(exc.body))
    return text(exc.detail or exc.code or "no message")


def _connection(target: BMCTarget, op: str, message: str) -> BMCError:
    node, address = target.node, target.address
    lowered = message.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return TimedOut(node, address, f"{op}: the BMC did not answer in time")
    if "certificate" in lowered or "ssl" in lowered:
        return Unreachable(
            node,
            address,
            f"{op}: TLS failed: the BMC's certificate is not trusted",
            hint="set bmc.caBundle to the CA that signed it, or bmc.insecure: true for a lab",
        )
    return Unreachable(
        node,
        address,
        f"{op}: no answer from the BMC",
        hint="is it powered, cabled, and at this address?",
    )
