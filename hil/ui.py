"""Terminal output shared by every command: one console, progress bars, JSON."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator

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

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

_state = {"quiet": False, "verbose": False}


def set_verbosity(*, quiet: bool, verbose: bool) -> None:
    _state["quiet"], _state["verbose"] = quiet, verbose


def is_verbose() -> bool:
    return _state["verbose"]


def info(msg: str) -> None:
    if not _state["quiet"]:
        err_console.print(msg)


def debug(msg: str) -> None:
    if _state["verbose"]:
        err_console.print(f"[dim]{msg}[/dim]")


def print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")


@contextmanager
def progress(transient: bool = False) -> Iterator[Progress]:
    """A progress display on stderr (hidden with --quiet or when not a terminal under pytest)."""
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
