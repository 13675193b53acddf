"""Which devices a run streams to: ``--board a,b`` or a board group (boards of one kind), ``--devices N`` (emulated).

An emulated board is booted N times (default: the cores this process may run
on, at most the window count); physical boards are listed, each held by its
own lock (hil.device.lock) for the whole run.  All devices run the one image,
so a list must be boards of one kind: same port, CPU, FPU, clock and engine.
A labgrid place is one device, acquired through its coordinator
(hil.device.labgrid_place) while the run holds it.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Sequence

from hil.config import SAME_KIND, Board, boards_path, load_boards
from hil.errors import ConfigError


def default_devices() -> int:
    """The cores this process may use (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def board_names(spec: str | None) -> list[str | None]:
    """``--board a,b`` as names; None is the boards file's default."""
    if not spec:
        return [None]
    names = [n.strip() for n in spec.split(",")]
    if any(not n for n in names):
        raise ConfigError(f"--board {spec!r}: an empty name in the list; write --board NAME[,NAME...]")
    if len(set(names)) != len(names):
        raise ConfigError(f"--board {spec!r}: a board is listed twice; a board can stream only once per run")
    return names


def load_run_boards(spec: str | None, boards_file: Path | None = None) -> list[Board]:
    """``--board`` as Boards: names and group names of boards.yaml (a group is its boards), in order."""
    path = boards_path(boards_file)
    bf = load_boards(path)
    names = [m for n in board_names(spec) for m in bf.expand(n)]
    if len(set(names)) != len(names):
        raise ConfigError(f"--board {spec!r}: a board is listed twice (directly or through a group); a board can "
                          "stream only once per run")
    return [bf.get(n, path) for n in names]


def device_boards(boards: Sequence[Board], devices: int | None) -> list[Board]:
    """One Board per device of the run (checked: one kind, --devices only for an emulated board)."""
    if devices is not None and devices < 1:
        raise ConfigError(f"--devices {devices}: must be at least 1")
    first = boards[0]
    if len(boards) > 1:
        for b in boards[1:]:
            diff = [k for k in SAME_KIND if getattr(b, k) != getattr(first, k)]
            if diff:
                raise ConfigError(f"--board: {b.name} differs from {first.name} in {', '.join(diff)}; the boards of a "
                                  "list run one image and must be of one kind (boards.yaml)")
        if devices not in (None, len(boards)):
            raise ConfigError(f"--devices {devices} with {len(boards)} boards listed: drop --devices, the list is "
                              "the devices")
        return list(boards)
    if not first.emulated or first.labgrid is not None:  # a place is one device, emulated or not
        if devices not in (None, 1):
            what = "a labgrid place" if first.labgrid is not None else "a physical board"
            raise ConfigError(f"--devices {devices}: board {first.name} is {what}; list several boards "
                              "of its kind instead: --board NAME-A,NAME-B")
        return [first]
    return [first] * (devices or default_devices())


def hold_boards(stack: ExitStack, boards: Sequence[Board], run_id: str, wait_s: float,
                log: Callable[[str], None] = lambda s: None) -> list[Board]:
    """Holds every physical board and labgrid place of ``boards`` into ``stack`` (in a fixed order: two runs
    never deadlock); returns ``boards`` as held: a place's board with its serial port and probe filled in."""
    from hil.device.flash import check_port
    from hil.device.lock import board_identity, lock_board

    held: dict[str, Board] = {}
    seen: dict[str, str] = {}
    for b in sorted({b.name: b for b in boards}.values(), key=lambda b: board_identity(b) or ""):
        ident = board_identity(b)
        if ident is not None and ident in seen:
            raise ConfigError(f"--board: {b.name} and {seen[ident]} are the same hardware ({ident}) in boards.yaml")
        lock = lock_board(b, run_id, wait_s)
        if lock is not None:
            seen[lock.identity] = b.name
            stack.callback(lock.release)
        if b.labgrid is not None:
            from hil.device.labgrid_place import PlaceHold

            place = PlaceHold(b, log).acquire(wait_s)
            stack.callback(place.release)
            b = place.board
        check_port(b)  # held now: busy means a program other than hil (a terminal)
        held[b.name] = b
    return [held[b.name] for b in boards]
