"""Metal3's address forms reach the right system of a real HTTP Redfish service.

Vendor schemes drive the Redfish driver over the transport they name; an address
without a system path (none, or a bare /redfish/v1/, as Metal3 reads both) drives the
BMC's only system, found in its Systems collection (DSP0266, the service root's
``Systems`` link).
"""

from __future__ import annotations

import pytest

from strata.bmc import PowerState
from tests.integration.bmc.conftest import driver
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_vendors import VENDORS, build_vendor

FORMS = [
    ("dell-idrac9", "idrac-redfish+http", "/redfish/v1/"),
    ("dell-idrac9", "idrac-virtualmedia+http", "/redfish/v1/Systems/System.Embedded.1"),
    ("hpe-ilo5", "ilo5-virtualmedia+http", ""),
    ("hpe-ilo5", "redfish-uefihttp+http", "/"),
]


@pytest.mark.parametrize(("name", "scheme", "path"), FORMS, ids=[f[1] for f in FORMS])
def test_the_address_reaches_the_system(name: str, scheme: str, path: str, password: str) -> None:
    vendor = VENDORS[name]
    mock = build_vendor(vendor, USERNAME, password)
    try:
        bmc = driver(f"{scheme}://127.0.0.1:{mock.port}{path}", password)
        assert bmc.power_state() in (PowerState.ON, PowerState.OFF)
        assert mock.calls("GET", vendor.system), "the system was never read"
        bmc.close()
    finally:
        mock.stop()
