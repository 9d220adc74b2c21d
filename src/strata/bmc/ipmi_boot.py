"""Set the next boot device over IPMI: Set System Boot Options, parameter by parameter.

IPMI v2.0, section 28.12 (Set System Boot Options, NetFn Chassis, command 08h) and
table 28-14 (the boot option parameters). Only parameter 5, the boot flags, sets
the device; the others are helpers a BMC may not implement:

- parameter 0, *set in progress*: marks the update, as ipmitool does (optional in
  the spec: a BMC may answer 80h, "parameter not supported");
- parameter 3, *BMC boot flag valid bit clearing*: data 08h asks the BMC not to
  clear the boot flags' valid bit when no Chassis Control command follows within
  60 s. Some BMCs refuse it (80h) although they take parameter 5.

pyghmi's ``Command.set_bootdev`` sends parameter 3 first and raises when it is
refused, so parameter 5 is never sent. Here every optional parameter is best
effort: its refusal is returned to the caller to be recorded, and parameter 5 is
sent regardless. A refusal of parameter 5 raises ``BootFlagsRefused``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BootFlagsRefused",
    "RawCommand",
    "Refusal",
    "TransportFault",
    "boot_flags",
    "set_boot_device",
]

NETFN_CHASSIS = 0x00
SET_SYSTEM_BOOT_OPTIONS = 0x08

SET_IN_PROGRESS = 0  # table 28-14, parameter 0
VALID_BIT_CLEARING = 3  # parameter 3
BOOT_FLAGS = 5  # parameter 5
_NAMES = {
    SET_IN_PROGRESS: "set in progress",
    VALID_BIT_CLEARING: "boot flag valid bit clearing",
    BOOT_FLAGS: "boot flags",
}
_IN_PROGRESS, _COMPLETE = 0x01, 0x00  # parameter 0, data 1 bits [1:0]
_KEEP_ON_TIMEOUT = 0x08  # parameter 3, data 1 bit 3: do not clear on the 60 s timeout

# Completion codes of Set System Boot Options (section 28.12) and the generic ones
# (IPMI v2.0, table 5-2) a BMC answers most often here.
_MEANING = {
    0x80: "parameter not supported",
    0x81: "attempt to set 'set in progress' when not in 'set complete' state",
    0x82: "attempt to write a read-only parameter",
    0xC0: "node busy",
    0xC1: "invalid command",
    0xC3: "timeout while processing command",
    0xC7: "request data length invalid",
    0xC9: "parameter out of range",
    0xCC: "invalid data field in request",
    0xD4: "insufficient privilege level",
    0xD5: "command not supported in present state",
    0xFF: "unspecified error",
}

RawCommand = Callable[[int, int, list[int]], Mapping[str, Any]]
"""(netfn, command, data bytes) -> pyghmi's answer: ``{"code": int, "data": …,
"error": str}``; ``code`` 0 is success, 0xFFFF pyghmi's own time-out."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A boot option parameter the BMC answered with a non-zero completion code."""

    parameter: int
    code: int  # the completion code, 0x01-0xFF

    @property
    def meaning(self) -> str:
        return _MEANING.get(self.code, "completion code not known to Strata")

    def __str__(self) -> str:
        name = _NAMES.get(self.parameter, "?")
        return f"parameter {self.parameter} ({name}) refused: 0x{self.code:02X}, {self.meaning}"


class BootFlagsRefused(Exception):
    """The BMC refused parameter 5: no boot device was set."""

    def __init__(self, refusal: Refusal, optional: tuple[Refusal, ...]) -> None:
        self.refusal, self.optional = refusal, optional
        super().__init__(str(refusal))


class TransportFault(Exception):
    """No completion code at all (pyghmi's time-out, or a broken answer)."""


def boot_flags(selector: int, *, uefi: bool, persistent: bool) -> list[int]:
    """Parameter 5's five data bytes (table 28-14).

    Data 1: bit 7 valid, bit 6 persistent (else next boot only), bit 5 EFI (else
    PC-compatible, "legacy"). Data 2: the device selector in bits [5:2], e.g. 04h
    PXE, 08h default hard drive, 14h CD/DVD. Data 3-5: no overrides.
    """
    data1 = 0x80 | (0x40 if persistent else 0) | (0x20 if uefi else 0)
    return [data1, selector, 0x00, 0x00, 0x00]


def set_boot_device(
    raw: RawCommand, selector: int, *, uefi: bool, persistent: bool
) -> tuple[Refusal, ...]:
    """Send parameters 0, 3, 5 (and 0 again to end the update); returns the optional ones
    the BMC refused. Raises ``BootFlagsRefused`` when parameter 5 is refused, and
    ``TransportFault`` when any answer has no completion code."""
    refused: list[Refusal] = []
    in_progress = _optional(raw, SET_IN_PROGRESS, [_IN_PROGRESS], refused)
    try:
        _optional(raw, VALID_BIT_CLEARING, [_KEEP_ON_TIMEOUT], refused)
        code = _send(raw, BOOT_FLAGS, boot_flags(selector, uefi=uefi, persistent=persistent))
        if code:
            raise BootFlagsRefused(Refusal(BOOT_FLAGS, code), tuple(refused))
    finally:
        if in_progress:  # never leave the parameters locked for other clients
            _optional(raw, SET_IN_PROGRESS, [_COMPLETE], refused)
    return tuple(refused)


def _optional(raw: RawCommand, parameter: int, data: list[int], refused: list[Refusal]) -> bool:
    code = _send(raw, parameter, data)
    if code:
        refused.append(Refusal(parameter, code))
    return not code


def _send(raw: RawCommand, parameter: int, data: list[int]) -> int:
    """The completion code of one Set System Boot Options request (0: accepted)."""
    answer = raw(NETFN_CHASSIS, SET_SYSTEM_BOOT_OPTIONS, [parameter, *data])
    code = answer.get("code")
    if not isinstance(code, int) or not 0 <= code <= 0xFF:
        raise TransportFault(str(answer.get("error") or "no answer"))
    return code
