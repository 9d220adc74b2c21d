"""BMC faults a person can act on, each naming the node and the BMC.

Drivers translate their library's exceptions into these at the border
(nothing above ``strata.bmc`` sees a sushy or pyghmi exception). Messages pass
through ``redact`` so a password can never ride along in a BMC's answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from strata.errors import StrataError

__all__ = [
    "AuthenticationFailed",
    "BMCError",
    "BMCFault",
    "CredentialsUnavailable",
    "FileRefused",
    "NotSupported",
    "TimedOut",
    "Unreachable",
    "redact",
]


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class BMCError(StrataError):
    """A BMC operation failed. ``transient`` faults are worth retrying."""

    kind = "bmc-error"
    transient = False

    def __init__(self, node: str, address: str, message: str, *, hint: str | None = None) -> None:
        self.node, self.address, self.message, self.hint = node, address, message, hint
        text = f"node {node}, BMC {address}: {message}"
        super().__init__(f"{text} ({hint})" if hint else text)

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "node": self.node,
            "bmc": self.address,
            "message": self.message,
            "hint": self.hint,
        }


class Unreachable(BMCError):
    """No answer: the BMC is down, the address is wrong, or TLS could not be set up."""

    kind = "unreachable"
    transient = True


class AuthenticationFailed(BMCError):
    """Wrong user name or password. Never retried: retries lock BMC accounts."""

    kind = "authentication-failed"


class NotSupported(BMCError):
    """This BMC does not offer the operation (or the device, or the mode)."""

    kind = "not-supported"


class BMCFault(BMCError):
    """The BMC answered with an error; its own message is kept."""

    kind = "bmc-fault"

    def __init__(
        self,
        node: str,
        address: str,
        message: str,
        *,
        hint: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(node, address, message, hint=hint)
        self.transient = transient


class TimedOut(BMCError):
    """No answer, or no settled state, within the time allowed."""

    kind = "timed-out"
    transient = True


class CredentialsUnavailable(BMCError):
    """The password a credentials entry refers to could not be read."""

    kind = "credentials-unavailable"


class FileRefused(BMCError):
    """A file topology.yaml names for this BMC (its CA bundle) may not be used as it is."""

    kind = "file-refused"
