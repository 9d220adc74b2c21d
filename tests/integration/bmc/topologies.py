"""topology.yaml files whose nodes' BMCs are emulated or mocked on 127.0.0.1, for CLI tests."""

from __future__ import annotations

from pathlib import Path

__all__ = ["NODE", "TOPOLOGY", "node_entry", "write_topology"]

TOPOLOGY = """\
apiVersion: strata.dev/v1alpha1
kind: Topology
metadata: {{name: emulated}}
defaults:
  os: {{name: flatcar, version: "4081.2.0"}}
  bmc: {{credentials: emulated}}
  layer: mgmt
credentials:
  - {{name: emulated, username: {user}, password: {{env: EMULATED_BMC_PASSWORD}}}}
networks:
  - {{name: bmc, purpose: bmc, cidr: 127.0.0.0/8}}
  - {{name: provisioning, purpose: provisioning, cidr: 198.51.100.0/24}}
layers:
  - {{name: mgmt, distribution: {{name: kubeadm, version: "1.31.2"}}, endpoint: {{vip: 198.51.100.2}},
     podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12}}
regions:
  - name: r
    zones:
      - name: z
        racks:
          - name: k
            nodes:
{nodes}
"""
NODE = """\
              - name: {name}
                role: {role}
                bmc: {{address: "{address}"}}
                nics: [{{mac: "{mac}", network: provisioning, ip: 198.51.100.{ip}}}]
"""


def node_entry(
    index: int, name: str, address: str, mac: str, disks: list[dict[str, object]] | None = None
) -> str:
    """One node; the first is the layer's control plane. ``disks`` as in topology.yaml."""
    text = NODE.format(
        name=name,
        role="control-plane" if index == 0 else "worker",
        address=address,
        mac=mac,
        ip=10 + index,
    )
    if disks:
        items = ", ".join(
            "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in d.items()) + "}" for d in disks
        )
        text += f"                disks: [{items}]\n"
    return text


def write_topology(tmp_path: Path, user: str, nodes: list[str]) -> Path:
    path = tmp_path / "topology.yaml"
    path.write_text(TOPOLOGY.format(user=user, nodes="".join(nodes)))
    return path


def _yaml(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value).lower()
