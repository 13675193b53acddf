"""Terminal output shared by every command: one console, progress bars, JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
from contextlib import contextmanager
from typing import IO, Any, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Width of a console that is not a terminal (CI, nightly, `| tee`): wide enough that rich never
# wraps a path or a table row at its 80-column default; tables are sized to their content.
LOG_WIDTH = 1000


def make_console(*, stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A terminal console as rich sizes it; anything else a log console that keeps whole lines."""
    c = Console(stderr=stderr, file=file, highlight=False)
    if c.is_terminal:
        return c
    return Console(stderr=stderr, file=file, highlight=False, width=LOG_WIDTH, soft_wrap=True)


console = make_console()
err_console = make_console(stderr=True)

_state = {"quiet": False, "verbose": False, "last_line": 0.0}  # last_line: monotonic time of the last log line
# A long step in a log prints a line at least this often (a step of its own progress lines counts).
HEARTBEAT_S = 10.0
clock = time.monotonic  # every time of a log line; a test replaces it to make a step slow without waiting


def set_verbosity(*, quiet: bool, verbose: bool) -> None:
    _state["quiet"], _state["verbose"] = quiet, verbose


def is_verbose() -> bool:
    return _state["verbose"]


def _line(msg: str, **kw: Any) -> None:
    err_console.print(msg, **kw)
    _state["last_line"] = clock()


def info(msg: str) -> None:
    if not _state["quiet"]:
        _line(msg)


def debug(msg: str) -> None:
    if _state["verbose"]:
        _line(f"[dim]{msg}[/dim]")


def print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")


class LogProgress(Progress):
    """Progress for a log: no live display, one line per task every ``step`` of its total or ``every_s``.

    A live bar only redraws on a terminal; in a log it would print nothing but a
    blank line at the end, so a long step would look hung.
    """

    def __init__(self, *columns: Any, step: float = 0.1, every_s: float = 10.0, **kw: Any) -> None:
        kw["disable"] = True
        super().__init__(*columns, **kw)
        self.step, self.every_s = step, every_s
        self._last: dict[Any, tuple[float, float]] = {}  # task -> (fraction, time) of its last line

    def add_task(self, description: str, *args: Any, **kw: Any):
        task_id = super().add_task(description, *args, **kw)
        self._last[task_id] = (-self.step, clock())
        return task_id

    def update(self, task_id, **kw: Any) -> None:  # type: ignore[override]
        super().update(task_id, **kw)
        self._maybe_log(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._maybe_log(task_id)

    def _maybe_log(self, task_id, final: bool = False) -> None:
        task = self._tasks[task_id]
        if not task.visible or _state["quiet"]:
            return
        frac = task.completed / task.total if task.total else 0.0
        last_frac, last_t = self._last[task_id]
        now = clock()
        due = (task.total and int(frac / self.step + 1e-9) > int(last_frac / self.step + 1e-9)) or now - last_t >= self.every_s
        if not due and not (final and frac != last_frac):
            return
        self._last[task_id] = (frac, now)
        done = f"{task.completed:,.0f}/{task.total:,.0f} ({frac:.0%})" if task.total else f"{task.completed:,.0f}"
        self.console.print(f"  {task.description}: {done}, {task.elapsed or 0.0:.0f} s", markup=True)
        _state["last_line"] = now

    def stop(self) -> None:
        for task_id in list(self._tasks):
            self._maybe_log(task_id, final=True)
        super().stop()


@contextmanager
def progress(transient: bool = False) -> Iterator[Progress]:
    """A progress display on stderr: a live bar on a terminal, periodic lines in a log (hidden with --quiet)."""
    if not err_console.is_terminal:
        with LogProgress(console=err_console) as lp:
            yield lp
        return
    p = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
        disable=_state["quiet"],
    )
    with p:
        yield p


class Heartbeat:
    """In a log, ``  NAME: still running, N s`` whenever nothing was printed for ``every_s``.

    A step with no count of its own (a firmware build, an export, the host
    references) would otherwise print nothing until it ends; ``tick`` is the
    check, run by a daemon thread every ``poll_s``.
    """

    def __init__(self, name: str, every_s: float | None = None, poll_s: float = 0.5) -> None:
        self.name, self.every_s, self.poll_s = name, every_s or HEARTBEAT_S, poll_s
        self.t0 = self.last = clock()
        self._stop = threading.Event()

    def tick(self) -> bool:
        """Prints the line if one is due; True when it did."""
        now = clock()
        if _state["quiet"] or now - max(self.last, _state["last_line"]) < self.every_s:
            return False
        self.last = now
        _line(f"  {self.name}: still running, {now - self.t0:.0f} s", markup=False)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.tick()

    def __enter__(self) -> "Heartbeat":
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.name}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def heartbeat(name: str) -> Iterator[None]:
    """A ``Heartbeat`` for a step when stderr is a log; nothing on a terminal (its bars are live)."""
    if err_console.is_terminal:
        yield
        return
    with Heartbeat(name):
        yield
