"""Compare the plan with what was recorded at the last apply: the actions to take.

A change to anything that the OS installs from (image, disk, Ignition
content, addresses, cluster membership) means reinstalling the server:
``reprovision``, which is destructive. Other changes (labels, BMC address or
credentials, boot method for next time) are an ``update`` in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from strata.plan.model import ChangeKind, NodeChange, NodePlan

__all__ = ["REPROVISION_FIELDS", "diff"]

REPROVISION_FIELDS = frozenset(
    {
        "layer",
        "role",
        "boot_mac",
        "os_name",
        "os_channel",
        "os_version",
        "install_disk",
        "root_device_hints",
        "interfaces",
        "ssh_keys",
        "ignition_fragments",
        "firmware",
    }
)
_FIELDS = tuple(f.name for f in dataclasses.fields(NodePlan))


def diff(
    nodes: Sequence[NodePlan],
    recorded: Mapping[str, NodePlan],
    found_running: Collection[str] = (),
) -> tuple[NodeChange, ...]:
    """``found_running``: nodes the controller found on at first contact, with no install of
    Strata's on record; whatever the file says, they wait for a person: adopt or reinstall."""
    actions: list[NodeChange] = []
    for node in nodes:
        before = recorded.get(node.name)
        if node.name in found_running:
            actions.append(NodeChange(node.name, ChangeKind.ADOPT_OR_REINSTALL))
        elif before is None:
            actions.append(NodeChange(node.name, ChangeKind.CREATE))
        elif before == node:
            actions.append(NodeChange(node.name, ChangeKind.UNCHANGED))
        else:
            changed = tuple(f for f in _FIELDS if getattr(before, f) != getattr(node, f))
            kind = (
                ChangeKind.REPROVISION
                if REPROVISION_FIELDS.intersection(changed)
                else ChangeKind.UPDATE
            )
            actions.append(NodeChange(node.name, kind, changed))
    present = {n.name for n in nodes}
    actions.extend(NodeChange(name, ChangeKind.DELETE) for name in recorded if name not in present)
    return tuple(actions)
