"""Value types shared by the topology schema: names, secret references, base model."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

__all__ = [
    "DNS_LABEL",
    "SECRET_HINT",
    "IPAddress",
    "IPNetwork",
    "Name",
    "SecretRef",
    "SecretValue",
    "SpecModel",
    "check_dns_label",
]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_DNS_LABEL = re.compile(DNS_LABEL)


class SpecModel(BaseModel):
    """Base of every topology.yaml object: camelCase keys, unknown keys refused, immutable.
    Python code may build one by field name; a document is validated by alias only
    (``TopologySpec.model_validate(data, by_name=False)``: a snake_case key is unknown,
    as the API server, which would prune it, sees it)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        hide_input_in_errors=True,
    )


def check_dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise PydanticCustomError(
            "dns_label",
            "must be a DNS label: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters",
        )
    return value


Name = Annotated[
    str,
    AfterValidator(check_dns_label),
    Field(json_schema_extra={"pattern": DNS_LABEL}),
]
"""The name of a region, zone, layer, network or credential: a DNS label (RFC 1123)."""


class KubernetesSecretKey(SpecModel):
    name: Name = Field(description="Name of the Kubernetes Secret.")
    namespace: Name | None = Field(
        default=None, description="Namespace of the Secret; defaults to the controller's own."
    )
    key: str = Field(description="Key inside the Secret's data.")


def _refuse_literal(value: Any) -> Any:
    if isinstance(value, str | int | float):
        raise PydanticCustomError(
            "literal_secret",
            "a secret must not be written in topology.yaml",
        )
    return value


class SecretRef(SpecModel):
    """Where a secret lives. Exactly one of ``env``, ``file`` or ``secret``."""

    env: str | None = Field(default=None, description="Environment variable holding the secret.")
    file: str | None = Field(
        default=None,
        description="File holding the secret on one line, owner-only (chmod 600); relative to "
        "the topology, and inside its directory or one STRATA_ALLOWED_DIRS names.",
    )
    secret: KubernetesSecretKey | None = Field(default=None, description="A Kubernetes Secret key.")

    def model_post_init(self, context: Any, /) -> None:
        chosen = [k for k in ("env", "file", "secret") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise PydanticCustomError("secret_ref", "set exactly one of 'env', 'file' or 'secret'")


SecretValue = Annotated[SecretRef, BeforeValidator(_refuse_literal)]
"""A reference to a secret; a literal value is refused with a located error."""

SECRET_HINT = (
    "reference it instead, e.g. password: {env: BMC_PASSWORD}, "
    "password: {file: secrets/bmc-password} or "
    "password: {secret: {name: bmc-credentials, key: password}}"
)


_CIDR = re.compile(r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$")


def _ip_address(value: Any) -> Any:
    """A string as Kubernetes' ``ipv4``/``ipv6`` formats take it (Go's ``net.ParseIP``:
    no zone such as ``%eth0``); an address object (built in code) is kept."""
    if isinstance(value, IPv4Address | IPv6Address):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("ip_type", "must be a string: an IP address, e.g. 10.0.0.1")
    if "%" in value:
        raise PydanticCustomError("ip_zone", "an IP address without a zone (%…): e.g. fe80::1")
    try:
        return ip_address(value)
    except ValueError:
        raise PydanticCustomError("ip_any_address", "not an IP address") from None


def _ip_network(value: Any) -> Any:
    """A string as Kubernetes' ``cidr`` format takes it (Go's ``net.ParseCIDR``:
    ``address/prefix-length``, no netmask, no zone), with the host bits zero."""
    if isinstance(value, IPv4Network | IPv6Network):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("ip_type", "must be a string: a CIDR, e.g. 10.0.0.0/24")
    if not _CIDR.match(value):
        raise PydanticCustomError(
            "cidr_form", "not a CIDR: write address/prefix-length, e.g. 10.0.0.0/24"
        )
    try:
        return ip_network(value)
    except ValueError:
        raise PydanticCustomError(
            "ip_network", "not an IP network, e.g. 10.0.0.0/24 (host bits must be zero)"
        ) from None


IPAddress = Annotated[IPv4Address | IPv6Address, BeforeValidator(_ip_address)]
"""An IP address written as a string, as the CRD's ``ipv4``/``ipv6`` formats accept."""
IPNetwork = Annotated[IPv4Network | IPv6Network, BeforeValidator(_ip_network)]
"""A CIDR written ``address/prefix-length``, as the CRD's ``cidr`` format accepts."""
