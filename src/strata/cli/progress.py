"""What `strata apply` shows while it works: a live view in a terminal, plain lines in a
log, JSON lines for machines. Each is an observer of the reconciler's changes."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from strata.controller import Change, State

__all__ = ["STATE_STYLE", "JsonLines", "LiveView", "PlainLines", "state_counts_table"]

ORDER = [s for s in State]
STATE_STYLE = {
    State.DECLARED: "dim",
    State.REGISTERING: "cyan",
    State.INSPECTING: "cyan",
    State.READY: "blue",
    State.PROVISIONING: "yellow",
    State.BOOTING: "yellow",
    State.INSTALLING: "magenta",
    State.PROVISIONED: "green",
    State.JOINING: "cyan",
    State.JOINED: "bold green",
    State.FAILED: "bold red",
    State.DEPROVISIONING: "yellow",
    State.MAINTENANCE: "dim",
    State.FOUND_RUNNING: "bold yellow",
}
ACTIVE = frozenset(
    {State.REGISTERING, State.INSPECTING, State.PROVISIONING, State.BOOTING, State.INSTALLING}
)


def state_counts_table(title: str, rows: Mapping[str, Counter[State]]) -> Table:
    """One row per group (layer, region, rack), one column per state that occurs."""
    present = [s for s in ORDER if any(c[s] for c in rows.values())]
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(title.split()[-1])
    for state in present:
        table.add_column(Text(state.value, style=STATE_STYLE[state]), justify="right")
    table.add_column("total", justify="right")
    for group in sorted(rows):
        counts = rows[group]
        cells = [Text(str(counts[s] or ""), style=STATE_STYLE[s]) for s in present]
        table.add_row(group, *cells, str(sum(counts.values())))
    return table


class LiveView:
    """Counts by state per layer and per rack, and a line per node at work."""

    def __init__(self, console: Console, title: str, max_lines: int = 12) -> None:
        self.console, self.title, self.max_lines = console, title, max_lines
        self._state: dict[str, Change] = {}
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()
        self._live = Live(console=console, refresh_per_second=4, get_renderable=self._render)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.__exit__(kind, exc, tb)

    def __call__(self, change: Change) -> None:
        with self._lock:
            if change.after is not getattr(self._state.get(change.node), "after", None):
                self._since[change.node] = change.at
            self._state[change.node] = change

    def _render(self) -> RenderableType:
        with self._lock:
            changes = list(self._state.values())
            since = dict(self._since)
        layers: dict[str, Counter[State]] = defaultdict(Counter)
        racks: dict[str, Counter[State]] = defaultdict(Counter)
        for c in changes:
            layers[c.layer][c.after] += 1
            racks[f"{c.region}/{c.rack}"][c.after] += 1
        active = sorted((c for c in changes if c.after in ACTIVE), key=lambda c: since[c.node])
        lines = Table.grid(padding=(0, 2))
        now = time.time()
        for c in active[: self.max_lines]:
            lines.add_row(
                c.node,
                Text(c.after.value, style=STATE_STYLE[c.after]),
                f"{now - since[c.node]:.0f}s",
            )
        more = len(active) - self.max_lines
        parts: list[RenderableType] = [
            Text(self.title, style="bold"),
            state_counts_table("by layer", layers),
            state_counts_table("by rack", racks),
            lines,
        ]
        if more > 0:
            parts.append(Text(f"… and {more} more at work", style="dim"))
        return Group(*parts)


class PlainLines:
    """One line per change, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, change: Change) -> None:
        if change.before is None and change.event == "loaded":
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(change.at))
        if change.held:  # text of the run's, BMCs' and people's: never read as markup
            self.console.print(f"{stamp} {change.node} held: {change.held}", markup=False)
            return
        line = f"{stamp} {change.node} {change.before} -> {change.after} ({change.event})"
        self.console.print(line + (f": {change.reason}" if change.reason else ""), markup=False)


class JsonLines:
    def __call__(self, change: Change) -> None:
        print(
            json.dumps(
                {
                    "at": round(change.at, 3),
                    "node": change.node,
                    "rack": change.rack,
                    "layer": change.layer,
                    "from": change.before.value if change.before else None,
                    "to": change.after.value,
                    "event": change.event,
                    "reason": change.reason,
                    "held": change.held,
                }
            ),
            flush=True,
        )
