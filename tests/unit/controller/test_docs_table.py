"""docs/controller.md shows the lifecycle table as the code has it.

Regenerate with STRATA_UPDATE_DOCS=1 pytest tests/unit/controller/test_docs_table.py."""

from __future__ import annotations

import os
from pathlib import Path

from strata.controller import TABLE, Event, State
from strata.controller.lifecycle import Transition, after_maintenance

DOC = Path(__file__).resolve().parents[3] / "docs" / "controller.md"
BEGIN, END = "<!-- BEGIN GENERATED lifecycle -->", "<!-- END GENERATED lifecycle -->"


def lifecycle_markdown() -> str:
    rows = ["| state | event | next state | action |", "|---|---|---|---|"]
    common = {
        (s, e)
        for s, e in TABLE
        if e in (Event.TIMEOUT, Event.BMC_FAILED, Event.MAINTENANCE_ON, Event.MAINTENANCE_OFF)
    }
    for (state, event), step in TABLE.items():
        if (state, event) not in common:
            rows.append(f"| {state} | {event} | {step.next} | {step.action} |")
    waiting = sorted({s for s, e in common if e is Event.TIMEOUT}, key=list(State).index)
    rows.append(f"| {', '.join(waiting)} | timeout, bmc-failed | failed | record-failure |")
    on = TABLE[(State.DECLARED, Event.MAINTENANCE_ON)]
    rows.append(f"| every state but maintenance | maintenance-on | maintenance | {on.action} |")
    back: dict[Transition, list[str]] = {}
    for state in State:
        if state is not State.MAINTENANCE:
            back.setdefault(after_maintenance(state), []).append(state)
    for step, came_from in back.items():
        rows.append(
            f"| maintenance, entered from {', '.join(came_from)} | maintenance-off "
            f"| {step.next} | {step.action} |"
        )
    return "\n".join(rows) + "\n"


def test_docs_show_the_table_the_code_has() -> None:
    text = DOC.read_text()
    head, rest = text.split(BEGIN + "\n")
    _, tail = rest.split(END)
    current = lifecycle_markdown()
    if os.environ.get("STRATA_UPDATE_DOCS"):
        DOC.write_text(f"{head}{BEGIN}\n{current}{END}{tail}")
        return
    assert rest.split(END)[0] == current, "run STRATA_UPDATE_DOCS=1 pytest " + __file__
