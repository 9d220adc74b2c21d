"""Objects as ``kubectl apply -f`` reads them: multi-document YAML, or a JSON ``List``."""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = ["dump_documents"]


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's (10,009 hosts in seconds), writing a shared value twice, never as an
    alias: kubectl reads aliases, people and some tools do not."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_documents(documents: list[dict[str, Any]], output: str) -> str:
    """``output``: ``yaml`` (documents separated by ``---``, keys in the order written)
    or ``json`` (a ``v1`` ``List`` of the objects, as ``kubectl get -o json`` prints)."""
    if output == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2) + "\n"
    text: str = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, explicit_start=True)
    return text
