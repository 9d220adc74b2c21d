"""Read what a Redfish service says in an error: its ``@Message.ExtendedInfo``.

DSP0266 ("Error responses"): an error body is ``{"error": {"code", "message",
"@Message.ExtendedInfo": [Message, …]}}``; each Message (DSP0268, Message schema)
has a ``MessageId`` of the form ``Registry.Major.Minor[.Errata].Key``, a
``Message`` text (sometimes left out: the text lives in the registry), its
``MessageArgs`` and a ``Resolution``. The outer ``message`` is often only "A
general error has occurred. See ExtendedInfo for more information", so the
BMC's own words are in the extended messages: Strata shows all of them.

Pure: JSON values in, text and answers out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strata.bmc.types import PowerState

__all__ = ["BMCMessage", "describe", "extended", "resolutions", "says_already"]

# Messages that mean "the system already is in the power state asked for", by the key
# of their MessageId (the registry and version vary), for each state asked for:
# - PSU501 / PSU502: iDRAC's "Server is already powered ON." / "...OFF." answered with
#   409 to ComputerSystem.Reset (iDRAC9 Redfish API Guide, "Supported Action - Reset");
# - ResourceInStandby: Base registry, "the resource is in standby" (that is, off);
# - PropertyValueConflict, NoOperation: Base registry, "would conflict with" / "no
#   changes to the resource took place", which some services answer to a redundant reset.
# Each is trusted only after the power state has been read back (see RedfishDriver).
_ALREADY: Mapping[PowerState, frozenset[str]] = {
    PowerState.ON: frozenset({"PSU501", "PropertyValueConflict", "NoOperation"}),
    PowerState.OFF: frozenset(
        {"PSU502", "ResourceInStandby", "PropertyValueConflict", "NoOperation"}
    ),
}
# Vendors with no registry entry of their own say it in words: "already powered on".
_ALREADY_TEXT = {
    PowerState.ON: re.compile(r"\balready\b.{0,40}\bon\b", re.IGNORECASE),
    PowerState.OFF: re.compile(r"\balready\b.{0,40}\boff\b", re.IGNORECASE),
}
_NO_RESOLUTION = {"", "none", "none.", "no response action is required."}


@dataclass(frozen=True, slots=True)
class BMCMessage:
    """One entry of ``@Message.ExtendedInfo``."""

    message_id: str  # e.g. "IDRAC.1.6.PSU501"; "" when the BMC gave none
    text: str  # the Message; "" when the BMC gave only an id (HPE iLO does)
    args: tuple[str, ...] = ()
    resolution: str = ""

    @property
    def key(self) -> str:
        """The MessageId without registry and version: ``PSU501``."""
        return self.message_id.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        words = self.text or ", ".join(self.args)
        if words and self.message_id:
            return f"{words} [{self.message_id}]"
        return words or self.message_id or "no message"


def extended(info: object) -> tuple[BMCMessage, ...]:
    """The messages of an ``@Message.ExtendedInfo`` value (a list, or one object)."""
    entries = info if isinstance(info, list) else [info] if isinstance(info, dict) else []
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        # "MessageID": HPE iLO 4 and early iLO 5 spell it so.
        message_id = str(entry.get("MessageId") or entry.get("MessageID") or "")
        args = entry.get("MessageArgs")
        out.append(
            BMCMessage(
                message_id=message_id,
                text=str(entry.get("Message") or "").strip(),
                args=tuple(str(a) for a in args) if isinstance(args, list) else (),
                resolution=str(entry.get("Resolution") or "").strip(),
            )
        )
    return tuple(out)


def describe(error: Mapping[str, Any] | None) -> str:
    """The BMC's own words for an error object: every extended message, else its
    ``message`` and ``code``."""
    if not error:
        return "no message"
    said = extended(error.get("@Message.ExtendedInfo"))
    if said:
        return "; ".join(dict.fromkeys(str(m) for m in said))
    message, code = error.get("message"), error.get("code")
    if message and code:
        return f"{message} [{code}]"
    return str(message or code or "no message")


def resolutions(error: Mapping[str, Any] | None) -> str | None:
    """What the BMC says to do about it, when it says anything useful."""
    said = extended((error or {}).get("@Message.ExtendedInfo"))
    useful = [m.resolution for m in said if m.resolution.lower() not in _NO_RESOLUTION]
    return "; ".join(dict.fromkeys(useful)) or None


def says_already(error: Mapping[str, Any] | None, want: PowerState) -> bool:
    """Whether the BMC answered a reset with "already ``want``" (by MessageId or words)."""
    if want not in _ALREADY:
        return False
    for message in extended((error or {}).get("@Message.ExtendedInfo")):
        if message.key in _ALREADY[want] or _ALREADY_TEXT[want].search(message.text):
            return True
    return bool(_ALREADY_TEXT[want].search(str((error or {}).get("message") or "")))
