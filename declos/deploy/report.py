"""Progress of a fleet command: a live table on a terminal, `name> line` lines otherwise.

Workers call `Reporter.phase(machine, phase)` and `Reporter.line(machine, text)` from
their threads. On a terminal (rich) there is one line per machine (phase, elapsed, last
log line) and a meta line (running / succeeded / failed / waiting), as colmena shows;
otherwise every event is one plain prefixed line, so CI logs read well. Every machine
keeps its last lines for the summary of failures.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TextIO

TAIL = 20


@dataclass
class MachineProgress:
    name: str
    phase: str = "waiting"
    started: float = field(default_factory=time.monotonic)
    last: str = ""
    done: bool = False
    ok: bool = False
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL))


class Reporter:
    """Plain output: one `name> text` line per event, on `out` (stderr by default)."""

    def __init__(self, names: list[str], out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.machines = {n: MachineProgress(n) for n in names}
        self.width = max((len(n) for n in names), default=0)
        self._lock = threading.Lock()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def phase(self, name: str, phase: str) -> None:
        with self._lock:
            self.machines[name].phase = phase
        self.line(name, phase)

    def line(self, name: str, text: str) -> None:
        with self._lock:
            m = self.machines[name]
            for part in text.splitlines() or [""]:
                m.lines.append(part)
                m.last = part
                self._emit(name, part)

    def finish(self, name: str, ok: bool, text: str) -> None:
        with self._lock:
            m = self.machines[name]
            m.done, m.ok, m.phase = True, ok, text
        self.line(name, text)

    def _emit(self, name: str, text: str) -> None:
        print(f"{name.rjust(self.width)}> {text}", file=self.out, flush=True)


class LiveReporter(Reporter):
    """The rich live display: a row per machine and a meta line, refreshed 8 times a second."""

    def __init__(self, names: list[str], out: TextIO | None = None) -> None:
        super().__init__(names, out)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=self.out)
        self.live = Live(self._render(), console=self.console, refresh_per_second=8)

    def __enter__(self) -> Reporter:
        self.live.__enter__()
        self.live.update(self._render())
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self._render())
        self.live.__exit__(None, None, None)

    def _emit(self, name: str, text: str) -> None:
        self.live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        running = succeeded = failed = waiting = 0
        now = time.monotonic()
        for m in self.machines.values():
            if m.done:
                succeeded += m.ok
                failed += not m.ok
                mark = "[green]✓[/]" if m.ok else "[red]✗[/]"
            elif m.phase == "waiting":
                waiting += 1
                mark = " "
            else:
                running += 1
                mark = "[cyan]…[/]"
            table.add_row(mark, m.name, m.phase, f"{now - m.started:5.1f}s", (m.last or "")[:80])
        table.add_row(
            "",
            "",
            f"{running} running, {succeeded} succeeded, {failed} failed, {waiting} waiting",
            "",
            "",
        )
        return table


def reporter(names: list[str], out: TextIO | None = None, live: bool | None = None) -> Reporter:
    """A live display when `out` is a terminal (or `live`), else plain lines."""
    stream = out or sys.stderr
    if live is None:
        live = stream.isatty()
    return LiveReporter(names, stream) if live else Reporter(names, stream)
