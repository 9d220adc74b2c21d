"""A Topology's status, written on its status subresource: metav1.Conditions (types
Valid, Planned, Progressing, Ready, Degraded; each with ``observedGeneration``; its
``lastTransitionTime`` moves only when its status does — Kubernetes API conventions,
"Typical status properties"), counts per layer and state (throttled), and core/v1
Events on the object, bounded per Topology generation, the same Event again counted on
one object (``count``, ``lastTimestamp``) as client-go's EventCorrelator does.

Writes are JSON merge patches (RFC 7386) of ``status`` on ``/status``: the spec, which a
person or GitOps tool owns, is never written here.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from lightkube import ApiError, Client
from lightkube.resources.core_v1 import Event
from lightkube.types import PatchType

from strata.operator.resources import TOPOLOGY, TOPOLOGY_API_VERSION
from strata.topology.diagnostics import printable

__all__ = [
    "COMPONENT",
    "MAX_EVENTS",
    "MAX_MESSAGE",
    "StatusWriter",
    "condition",
    "merged",
]

log = logging.getLogger("strata.operator")
COMPONENT = "strata-controller"
MAX_EVENTS = 20  # Events per Topology generation: findings past this are in the condition
MAX_MESSAGE = 32_768  # metav1.Condition.message's maxLength
MAX_EVENT_MESSAGE = 1_024  # what kubectl describe shows comfortably
COUNTS_EVERY = 2.0  # seconds between two writes of the counts during a run
Condition = dict[str, Any]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clip(text: str, limit: int) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def condition(kind: str, status: bool, reason: str, message: str, generation: int) -> Condition:
    """One metav1.Condition: ``reason`` CamelCase, ``message`` clipped to 32,768."""
    return {
        "type": kind,
        "status": "True" if status else "False",
        "observedGeneration": generation,
        "lastTransitionTime": _now(),
        "reason": reason,
        "message": _clip(message, MAX_MESSAGE),
    }


def merged(old: Iterable[Condition], new: Iterable[Condition]) -> list[Condition]:
    """``old`` with ``new`` in place of those of the same type; a condition whose status
    did not change keeps its lastTransitionTime."""
    by_type = {c["type"]: dict(c) for c in old}
    for c in new:
        before = by_type.get(c["type"])
        if before is not None and before.get("status") == c["status"]:
            c = {
                **c,
                "lastTransitionTime": before.get("lastTransitionTime", c["lastTransitionTime"]),
            }
        by_type[c["type"]] = c
    return sorted(by_type.values(), key=lambda c: str(c["type"]))


class StatusWriter:
    """Writes one Topology's status and Events; ``conditions`` starts from the object's
    as read, so transition times survive a restart of the controller."""

    def __init__(self, client: Client, obj: Mapping[str, Any], identity: str) -> None:
        meta = obj.get("metadata", {})
        self.client, self.identity = client, identity
        self.name, self.namespace, self.uid = meta["name"], meta["namespace"], meta.get("uid")
        self.conditions: list[Condition] = list((obj.get("status") or {}).get("conditions") or [])
        self._events: dict[int, int] = {}  # generation -> Events sent for it
        self._counted: dict[str, int] = {}  # Event name -> its count as last written
        self._counts_at = 0.0
        self.muted = False  # another replica writes this object's status (shard 0's holder)
        self._sent: dict[bool, dict[str, Any]] = {}  # the last patch of each kind: not twice
        self._lock = threading.Lock()

    def set(self, generation: int, *updates: Condition, **fields: Any) -> None:
        """Merge ``updates`` into the conditions and patch them with ``fields``
        (``servers``, ``states``, ``layers``) and ``observedGeneration``."""
        if self.muted:
            return
        with self._lock:
            self.conditions = merged(self.conditions, updates)
            status = {"observedGeneration": generation, "conditions": self.conditions, **fields}
            self._patch(status)

    def has(self, kind: str, generation: int) -> bool:
        """True when the ``kind`` condition was written for ``generation``."""
        return any(
            c["type"] == kind and c.get("observedGeneration") == generation for c in self.conditions
        )

    def counts(self, summaries: Callable[[], Iterable[Any]], force: bool = False) -> None:
        """Servers per state and per layer and state, at most every ``COUNTS_EVERY`` s
        unless ``force``; ``summaries``: the store's (``NodeSummary`` list), read only
        when the counts are written."""
        if self.muted or (not force and time.monotonic() - self._counts_at < COUNTS_EVERY):
            return
        self._counts_at = time.monotonic()
        states: dict[str, int] = {}
        layers: dict[str, dict[str, int]] = {}
        total = 0
        for s in summaries():
            total += 1
            states[s.state] = states.get(s.state, 0) + 1
            layer = layers.setdefault(s.layer, {})
            layer[s.state] = layer.get(s.state, 0) + 1
        with self._lock:
            self._patch({"servers": total, "states": states, "layers": layers}, replace=True)

    def event(self, generation: int, kind: str, reason: str, message: str) -> bool:
        """A core/v1 Event on the object (``kind``: Normal or Warning); False when this
        generation already had ``MAX_EVENTS``. The same Event again (type, reason and
        message on this object) is one Event counted again: its ``count`` and
        ``lastTimestamp`` patched, as client-go's EventCorrelator aggregates — also
        across a restart and between replicas (the Event's name is derived from what
        it says)."""
        sent = self._events.get(generation, 0)
        if self.muted or sent >= MAX_EVENTS:
            return False
        self._events[generation] = sent + 1
        text = _clip(message, MAX_EVENT_MESSAGE)
        said = "\0".join((str(self.uid), kind, reason, text)).encode()
        name = f"{self.name}.{hashlib.sha256(said).hexdigest()[:16]}"
        try:
            self._record(name, kind, reason, text)
        except ApiError as err:  # an Event is news for people: never worth failing a run
            log.warning("topology=%s event not written: %s", self.name, err.status.message)
        return True

    def _record(self, name: str, kind: str, reason: str, text: str) -> None:
        count = self._counted.get(name)
        if count is None:  # not sent by this process: new, or sent before a restart
            if self._create_event(name, kind, reason, text):
                return
            got = self.client.get(Event, name, namespace=self.namespace)
            count = got.count or 1
        try:
            self.client.patch(
                Event,
                name,
                {"count": count + 1, "lastTimestamp": _now()},
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
            )
        except ApiError as err:
            if err.status.code != 404:
                raise
            self._counted.pop(name, None)  # gone meanwhile (Events expire): anew
            self._create_event(name, kind, reason, text)
            return
        self._counted[name] = count + 1

    def _create_event(self, name: str, kind: str, reason: str, text: str) -> bool:
        """Create the Event counted once; False: it exists already (409)."""
        now = datetime.datetime.now(datetime.UTC)
        body = {
            "metadata": {"name": name, "namespace": self.namespace},
            "involvedObject": {
                "apiVersion": TOPOLOGY_API_VERSION,
                "kind": "Topology",
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
            },
            "reason": reason,
            "message": text,
            "type": kind,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": COMPONENT, "host": self.identity},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.identity,
        }
        try:
            self.client.create(cast(Event, Event.from_dict(body)), namespace=self.namespace)
        except ApiError as err:
            if err.status.code == 409:
                return False
            raise
        self._counted[name] = 1
        return True

    def _patch(self, status: Mapping[str, Any], replace: bool = False) -> None:
        body: dict[str, Any] = {"status": dict(status)}
        if body == self._sent.get(replace):  # a resync that changed nothing writes nothing
            return  # (conditions and counts compared apart: they alternate in a run)
        self._sent.pop(replace, None)  # a write that fails is tried again next time
        if replace:  # counts: states no longer present must go (merge patch: null deletes)
            self._send({"status": {"states": None, "layers": None}})
        self._send(body)
        self._sent[replace] = body

    def _send(self, body: dict[str, Any]) -> None:
        try:
            self.client.patch(
                TOPOLOGY.Status,
                self.name,
                body,
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
            )
        except ApiError as err:
            if err.status.code == 404:  # deleted meanwhile: its watch says so next
                return
            raise
