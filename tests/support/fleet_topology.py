"""A topology.yaml for systems of sushy-tools' emulator: one node per system, racks of a
given size with a power budget, BMC password from STRATA_TEST_BMC_PASSWORD."""

from __future__ import annotations

from collections.abc import Sequence

from tests.support.redfish_emulator import FakeSystem

PASSWORD_ENV = "STRATA_TEST_BMC_PASSWORD"

HEAD = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {{name: {name}}}
defaults:
  layer: mgmt
  os: {{name: flatcar, channel: stable, version: "4081.2.0"}}
  bmc: {{credentials: emulator}}
  boot: {{method: ipxe, firmware: uefi}}
  installDisk: /dev/vda
credentials:
  - {{name: emulator, username: strata, password: {{env: {env}}}}}
networks:
  - {{name: bmc, purpose: bmc, cidr: 127.0.0.0/8}}
  - name: prov
    purpose: provisioning
    cidr: 10.1.0.0/16
    gateway: 10.1.0.1
    dhcpRange: {{start: 10.1.200.1, end: 10.1.200.250}}
layers:
  - name: mgmt
    distribution: {{name: kubeadm, version: "1.31.2"}}
    endpoint: {{vip: 10.1.0.5, network: prov}}
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
regions:
  - name: r1
    zones:
      - name: z1
        racks:
"""


def fleet_yaml(
    bmc_url: str,
    systems: Sequence[FakeSystem],
    *,
    name: str = "emulated",
    per_rack: int = 10,
    budget: str | None = "{maxConcurrentPowerOn: 4, staggerSeconds: 0.05}",
    macs: dict[int, str] | None = None,
    addresses: dict[int, str] | None = None,
    boots: dict[int, str] | None = None,
    fallbacks: dict[int, str] | None = None,
) -> str:
    """``bmc_url``: the emulator's (``redfish+http://host:port``). ``macs``/``addresses``:
    by position, a boot MAC or BMC address other than the emulator's (a cabling
    mistake, a BMC that is down). ``boots``: by position, a node's ``boot`` mapping
    (``{method: virtualmedia, firmware: bios}``). ``budget`` None: racks without a
    power budget. ``fallbacks``: by position, a node's ``bmc.fallback`` address, where
    ``{system}`` stands for the emulator's address of its system."""
    lines = [HEAD.format(name=name, env=PASSWORD_ENV)]
    for i, system in enumerate(systems):
        if i % per_rack == 0:
            lines.append(f"          - name: rack{i // per_rack}\n")
            if budget is not None:
                lines.append(f"            powerBudget: {budget}\n")
            lines.append("            nodes:\n")
        role = "control-plane" if i == 0 else "worker"
        address = (addresses or {}).get(i, f"{bmc_url}{system.path}")
        mac = (macs or {}).get(i, system.mac)
        boot = f"                boot: {boots[i]}\n" if boots and i in boots else ""
        fallback = (fallbacks or {}).get(i)
        if fallback:
            fallback = fallback.format(system=f"{bmc_url}{system.path}")
        also = f", fallback: {{address: '{fallback}'}}" if fallback else ""
        lines.append(
            f"              - name: {system.name}\n"
            f"                role: {role}\n"
            f"                bmc: {{address: '{address}'{also}}}\n"
            f"{boot}"
            f"                nics:\n"
            f"                  - {{name: eth0, mac: '{mac}', network: prov, "
            f"ip: 10.1.{1 + i // 200}.{10 + i % 200}}}\n"
        )
    return "".join(lines)
