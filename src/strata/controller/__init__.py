"""The controller: the node lifecycle table, and the reconciler that drives it."""

from strata.controller.inputs import ADOPT_REQUESTED, BOOT_EVENTS, RETRY_REQUESTED
from strata.controller.lifecycle import (
    TABLE,
    Action,
    Event,
    IllegalEvent,
    State,
    Transition,
    next_step,
)
from strata.controller.options import ApplyOptions, Timeouts
from strata.controller.reconciler import DriverSource, Reconciler
from strata.controller.recorded import recorded
from strata.controller.report import Change, Summary
from strata.controller.tracked import INSTALLED

__all__ = [
    "ADOPT_REQUESTED",
    "BOOT_EVENTS",
    "INSTALLED",
    "RETRY_REQUESTED",
    "TABLE",
    "Action",
    "ApplyOptions",
    "Change",
    "DriverSource",
    "Event",
    "IllegalEvent",
    "Reconciler",
    "State",
    "Summary",
    "Timeouts",
    "Transition",
    "next_step",
    "recorded",
]
