"""A generated topology for the simulated fleet (``strata.lab.simulated``): racks of
worker nodes written with generators, and one control-plane node in its own rack.

Addresses are never dialled (the simulated fleet stands in for the BMCs), so they
only have to be valid and distinct. The BMC password is read from ``$PW``.
"""

from __future__ import annotations

from strata.topology import Topology, check_text

TEXT = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {{name: {name}}}
defaults:
  layer: mgmt
  os: {{name: flatcar, version: "{os_version}"}}
  bmc: {{credentials: c}}
  installDisk: /dev/vda
credentials: [{{name: c, username: admin, password: {{env: PW}}}}]
networks:
  - {{name: bmc, purpose: bmc, cidr: 10.0.0.0/12}}
  - {{name: prov, purpose: provisioning, cidr: 172.16.0.0/12}}
layers:
  - name: mgmt
    distribution: {{name: kubeadm, version: "1.31.2"}}
    endpoint: {{vip: 172.31.255.1, network: prov}}
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
regions:
  - name: r
    zones:
      - name: z
        racks:
          - name: k{{rack}}
            generate: {{count: {racks}}}
            {budget}
            nodes:
              - name: k{{rack}}-n{{index}}
                generate: {{count: {per_rack}}}
                bmc: {{address: "redfish://{{ip:10.0.0.10}}/redfish/v1/Systems/1"}}
                nics: [{{mac: "{{mac:52:54:00:00:00:10}}", network: prov}}]
          - name: ctl
            nodes:
              - name: cp
                role: control-plane
                bmc: {{address: "redfish://10.15.255.1/redfish/v1/Systems/cp"}}
                nics: [{{mac: "52:54:00:ff:ff:01", network: prov}}]
"""


def generated_text(
    racks: int = 1,
    per_rack: int = 4,
    *,
    budget: str = "",
    os_version: str = "4081.2.0",
    name: str = "sim",
) -> str:
    """``racks`` x ``per_rack`` workers and a control plane: racks * per_rack + 1 nodes.
    ``budget``: a rack-level line such as ``powerBudget: {maxConcurrentPowerOn: 2}``."""
    return TEXT.format(
        name=name, racks=racks, per_rack=per_rack, budget=budget, os_version=os_version
    )


def generated_topology(
    racks: int = 1,
    per_rack: int = 4,
    *,
    budget: str = "",
    os_version: str = "4081.2.0",
    name: str = "sim",
) -> Topology:
    """The topology of ``generated_text``, checked."""
    text = generated_text(racks, per_rack, budget=budget, os_version=os_version, name=name)
    checked = check_text(text, f"{name}.yaml")
    if checked.topology is None:
        raise ValueError("; ".join(str(d) for d in checked.errors))
    return checked.topology
