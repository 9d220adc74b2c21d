"""The controller: node lifecycle (this first part: the lifecycle table)."""

from strata.controller.lifecycle import (
    TABLE,
    Action,
    Event,
    IllegalEvent,
    State,
    Transition,
    next_step,
)

__all__ = ["TABLE", "Action", "Event", "IllegalEvent", "State", "Transition", "next_step"]
