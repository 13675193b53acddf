"""Holding a board for a whole run: one OS-level lock per physical board.

A board is identified by its probe (the flasher's ``unique_id``), else its
serial port, else its name; the lock is ``flock`` on a file named after that
identity in the lock folder (``$HIL_LOCK_DIR``, else
``$XDG_RUNTIME_DIR/hil-locks``, else ``/tmp/hil-locks-<uid>``).  The kernel
drops a flock when its holder dies, however it dies, so a lock left by a killed
run is free again at once; the file's text (pid, host, run id, since when) is
only there to name the holder to whoever waits, and is rewritten by each new
holder.

Emulated boards are not locked: each run boots its own QEMU, nothing is shared.
A labgrid place (hil.device.labgrid_place) is held through its coordinator and
also locked here, so two runs on one host are told each other's pid and run id.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from hil.config import Board
from hil.errors import InfraError

POLL_S = 0.2


class BoardBusy(InfraError):
    """Another run holds the board (exit 2: retry later, or pass --wait)."""


def lock_dir() -> Path:
    """The folder of the lock files; every run on this host must agree on it."""
    if os.environ.get("HIL_LOCK_DIR"):
        return Path(os.environ["HIL_LOCK_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "hil-locks"
    return Path(f"/tmp/hil-locks-{os.getuid()}")


def board_identity(board: Board) -> str | None:
    """What makes the board one piece of hardware: probe id, serial port, or name; None when emulated."""
    from hil.flashers import flasher_for

    if board.labgrid is not None:  # shared through the coordinator; the flock orders this host's runs
        return f"labgrid-{board.labgrid.place}@{board.labgrid.coordinator}"
    if board.emulated or flasher_for(board.flasher).starts_device:
        return None
    probe = getattr(board.flasher, "unique_id", None)
    if probe:
        return f"probe-{probe}"
    if board.link.url:
        return f"port-{board.link.url}"
    if board.link.usb is not None and board.link.usb.serial_number:
        return f"usb-{board.link.usb.vid:04x}-{board.link.usb.serial_number}"
    return f"board-{board.name}"


def _file_name(identity: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identity).strip("_") + ".lock"


class BoardLock:
    """An exclusive hold on one board until ``release()`` (or the process's end)."""

    def __init__(self, board: Board, identity: str, run_id: str, folder: Path | None = None) -> None:
        self.board = board
        self.identity = identity
        self.run_id = run_id
        self.path = (folder or lock_dir()) / _file_name(identity)
        self._fd: int | None = None

    def holder(self) -> dict[str, Any]:
        """What the current holder wrote (may be empty while it is being rewritten)."""
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def _try(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _write_holder(self, previous: dict[str, Any]) -> None:
        doc = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": self.run_id, "board": self.board.name,
               "identity": self.identity, "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "since_epoch": time.time(),
               "command": " ".join(sys.argv)}
        if previous.get("pid") and previous.get("pid") != os.getpid():
            doc["took_over_from"] = previous  # its process is gone: the kernel dropped its flock
        data = json.dumps(doc, indent=1).encode()
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def acquire(self, wait_s: float = 0.0) -> "BoardLock":
        """Takes the lock, waiting up to ``wait_s`` seconds; BoardBusy naming the holder otherwise."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + max(0.0, wait_s)
        while not self._try():
            if time.monotonic() >= deadline:
                raise self._busy(wait_s)
            time.sleep(POLL_S)
        self._write_holder(self.holder())
        return self

    def _busy(self, wait_s: float) -> BoardBusy:
        h = self.holder()
        who = (f"pid {h.get('pid', '?')} on {h.get('host', '?')}, run {h.get('run_id', '?')}, "
               f"since {h.get('since', '?')}") if h else "another process (no details written yet)"
        waited = f" (waited {wait_s:g} s)" if wait_s > 0 else ""
        return BoardBusy(f"board {self.board.name} ({self.identity}) is held by {who}{waited}; lock file {self.path}",
                         hint="wait for that run to finish, or pass --wait SECONDS to queue behind it")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the flock; the text stays as a record of the last holder

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "BoardLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_board(board: Board, run_id: str, wait_s: float = 0.0) -> BoardLock | None:
    """Holds ``board`` for the caller's run (None for an emulated board, which needs no lock)."""
    identity = board_identity(board)
    if identity is None:
        return None
    return BoardLock(board, identity, run_id).acquire(wait_s)
