"""BareMetalHosts and their BMC credential Secrets, from Strata's NodePlans.

Field names and shapes follow the BareMetalHost CRD of metal3-io/baremetal-operator
(``metal3.io/v1alpha1``, config/base/crds/bases/metal3.io_baremetalhosts.yaml) and its
Go types (apis/metal3.io/v1alpha1/baremetalhost_types.go): ``spec.bmc`` {address,
credentialsName, disableCertificateVerification}, ``bootMACAddress``, ``bootMode``
(``UEFI``, ``UEFISecureBoot``, ``legacy``), ``rootDeviceHints`` (Ironic's hint names,
which topology.yaml's rootDeviceHints share), ``online``, ``externallyProvisioned``.
The credentials Secret holds ``username`` and ``password`` (Metal3's
docs/api.md, "bmc.credentialsName").
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from strata.metal3.units import gb_to_metal3
from strata.plan import NodePlan
from strata.topology.bmc_schemes import boot_twin

__all__ = [
    "BMH_API",
    "LAYER_LABEL",
    "RACK_LABEL",
    "REGION_LABEL",
    "ROLE_LABEL",
    "TOPOLOGY_LABEL",
    "ZONE_LABEL",
    "bare_metal_host",
    "credentials_secret",
    "host_labels",
    "metal3_address",
]

BMH_API = "metal3.io/v1alpha1"
# Well-known labels (kubernetes.io/docs/reference/labels-annotations-taints/), the rack,
# layer, role and topology Strata's own; the zone as Strata's Node labels write it.
REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
RACK_LABEL = "strata.dev/rack"
LAYER_LABEL = "strata.dev/layer"
ROLE_LABEL = "strata.dev/role"
TOPOLOGY_LABEL = "strata.dev/topology"
BOOT_MODES = {"uefi": "UEFI", "bios": "legacy"}
_ZONE = re.compile(r"\[([^\]%]*)%(?!25)([^\]]*)\]")  # [addr%zone], zone not yet encoded


def metal3_address(address: str) -> str:
    """A BMC address as Metal3 reads it: Strata's normalized ``scheme://…`` unchanged,
    except IPMI's ``?privilege=operator``, which Metal3 spells ``?privilegelevel=OPERATOR``
    (pkg/hardwareutils/bmc/ipmi.go; Ironic's ipmi_priv_level takes upper case), and an
    IPv6 zone, which a URL writes percent-encoded (RFC 6874: ``[fe80::1%25eth0]``; Go's
    url.Parse, which Metal3 reads addresses with, refuses a bare ``%``)."""
    address = _ZONE.sub(r"[\1%25\2]", address)
    base, _, query = address.partition("?")
    if not query or not base.startswith("ipmi:"):
        return address
    pairs = parse_qsl(query, keep_blank_values=True)
    return f"{base}?privilegelevel={pairs[0][1].upper()}" if pairs else base


def host_labels(node: NodePlan, topology: str) -> dict[str, str]:
    """The labels a host carries: where it stands and what it is for; what
    Metal3MachineTemplates select hosts by (``hostSelector.matchLabels``)."""
    return {
        REGION_LABEL: node.region,
        ZONE_LABEL: f"{node.region}-{node.zone}",
        RACK_LABEL: node.rack,
        LAYER_LABEL: node.layer,
        ROLE_LABEL: node.role,
        TOPOLOGY_LABEL: topology,
    }


def _booting(node: NodePlan) -> str:
    """The node's BMC address with the scheme that tells Metal3 its (first) boot method:
    virtual media or UEFI HTTP Boot (Metal3 reads the boot interface from the scheme)."""
    scheme, _, rest = node.bmc_address.partition("://")
    twin = boot_twin(scheme, node.boot_method)
    return f"{twin}://{rest}" if twin is not None else node.bmc_address


def bare_metal_host(
    node: NodePlan, *, topology: str, namespace: str | None, provisioned: bool
) -> dict[str, Any]:
    """The node's BareMetalHost (a plain dict). ``provisioned``: Strata installed the
    server already, so Metal3 must not (``externallyProvisioned: true``). The caller
    checked that the node has credentials (``node.bmc_credentials``)."""
    assert node.bmc_credentials is not None
    bmc: dict[str, Any] = {
        "address": metal3_address(_booting(node)),
        "credentialsName": node.bmc_credentials,
    }
    if node.bmc_insecure:
        bmc["disableCertificateVerification"] = True
    spec: dict[str, Any] = {
        "bmc": bmc,
        "bootMACAddress": node.boot_mac,
        "bootMode": BOOT_MODES[node.firmware],
        "online": True,
    }
    hints = root_device_hints(node)
    if hints:
        spec["rootDeviceHints"] = hints
    if provisioned:
        spec["externallyProvisioned"] = True
    return {
        "apiVersion": BMH_API,
        "kind": "BareMetalHost",
        "metadata": _metadata(node.name, namespace, host_labels(node, topology)),
        "spec": spec,
    }


def root_device_hints(node: NodePlan) -> dict[str, Any]:
    """``installDisk`` as Metal3's ``deviceName`` hint, or the node's hints as written
    (topology.yaml and Metal3 share Ironic's names: deviceName, hctl, model, vendor,
    serialNumber, wwn, minSizeGigabytes, rotational); ``minSizeGigabytes`` from Strata's
    decimal GB to Metal3's GiB, rounded down (strata.metal3.units)."""
    if node.root_device_hints:
        hints = dict(node.root_device_hints)
        if "minSizeGigabytes" in hints:  # GB -> GiB, rounded down (strata.metal3.units)
            hints["minSizeGigabytes"] = gb_to_metal3(int(hints["minSizeGigabytes"]))
            if hints["minSizeGigabytes"] == 0:
                del hints["minSizeGigabytes"]  # under 1 GiB: Metal3's 0 is no minimum
        return hints
    if node.install_disk:
        return {"deviceName": node.install_disk}
    return {}


def credentials_secret(
    name: str, username: str, password: str, namespace: str | None
) -> dict[str, Any]:
    """The Secret ``credentialsName`` names: type Opaque, ``data.username`` and
    ``data.password`` base64-encoded (Kubernetes API: Secret v1)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(name, namespace, {}),
        "type": "Opaque",
        "data": {"username": _b64(username), "password": _b64(password)},
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _metadata(name: str, namespace: str | None, labels: Mapping[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta
