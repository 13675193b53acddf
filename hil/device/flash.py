"""Getting an image onto a board and a serial URL to talk to it, whatever the board's flasher.

Which flasher does what is the registry's business (hil.flashers): a flasher
that starts the device (``qemu`` boots the ELF in qemu-system-arm) yields its
URL and can restart it; one that writes it (``pyocd`` / ``jlink`` write
hil.bin at the app base) leaves the board running, and the link URL is the
board's ``link.url`` or the serial port found by USB identity (``link.usb``).
A board's ``fallback_flasher`` is tried when the main flasher's probe or tool
is absent.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pydantic import BaseModel

from hil.config import Board
from hil.errors import ConfigError, InfraError
from hil.flashers import flasher_for


class FlashLog:
    """The run's flash.log: every flasher's commands and output, time-stamped."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, line: str) -> None:
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"[{time.strftime('%H:%M:%S')}] {line.rstrip()}\n")


@dataclass
class FlashResult:
    flasher: str
    seconds: float
    image: Path
    notes: list[str] = field(default_factory=list)


def _image_for(flasher: BaseModel, firmware_dir: Path) -> Path:
    name = flasher_for(flasher).image
    image = Path(firmware_dir) / name
    if not image.is_file():
        raise ConfigError(f"{image}: the firmware has no {name}; build it with `hil build`")
    return image


def _flash_one(flasher: BaseModel, firmware_dir: Path, log: FlashLog) -> Path:
    image = _image_for(flasher, firmware_dir)
    flasher_for(flasher).flash(flasher, image, log)
    return image


def flash_board(board: Board, firmware_dir: Path, log_path: Path | None = None) -> FlashResult:
    """Writes the firmware to a real board (its flasher, then the fallback flasher when the probe/tool is absent)."""
    driver = flasher_for(board.flasher)
    if driver.starts_device:
        what = "emulated" if board.emulated else "a host process"
        raise ConfigError(f"board {board.name!r} is {what}: its {driver.kind} flasher boots the {driver.image} "
                          "each run, there is nothing to flash")
    log = FlashLog(log_path)
    t0 = time.monotonic()
    notes: list[str] = []
    try:
        image = _flash_one(board.flasher, firmware_dir, log)
        used = board.flasher.kind
    except InfraError as exc:
        if board.fallback_flasher is None or not driver.absent(exc):
            raise InfraError(f"{board.name}: {exc}", hint=exc.hint) from exc
        notes.append(f"{board.flasher.kind}: {exc}; trying {board.fallback_flasher.kind}")
        log(notes[-1])
        image = _flash_one(board.fallback_flasher, firmware_dir, log)
        used = board.fallback_flasher.kind
    return FlashResult(used, time.monotonic() - t0, image, notes)


def resolve_port(board: Board) -> str:
    """The pyserial URL of a real board: ``link.url``, else the one port matching ``link.usb``."""
    link = board.link
    if link.url:
        return link.url
    if link.usb is None:
        raise ConfigError(f"boards.yaml: board {board.name!r} has neither link.url nor link.usb")
    from hil.device.link import find_usb_port

    return find_usb_port(link.usb, board.name)


class DeviceHandle:
    """A running device: its serial URL, whether it is alive, and how to restart it after a reset/crash."""

    def __init__(self, url: str, *, restart: Callable[[], str] | None = None, alive: Callable[[], bool] | None = None,
                 flash: FlashResult | None = None) -> None:
        self.url = url
        self._restart = restart
        self._alive = alive
        self.flash = flash

    @property
    def can_restart(self) -> bool:
        return self._restart is not None

    def restart(self) -> str:
        if self._restart is None:
            raise InfraError("this board cannot be restarted by the host")
        self.url = self._restart()
        return self.url

    def alive(self) -> bool:
        return True if self._alive is None else self._alive()


@contextmanager
def running_device(board: Board, firmware_dir: Path, *, flash_log: Path | None = None,
                   flash: bool = True) -> Iterator[DeviceHandle]:
    """Boots (QEMU) or flashes (real board) the firmware, yields a handle, and stops what it started on any exit."""
    driver = flasher_for(board.flasher)
    log = FlashLog(flash_log)
    if driver.starts_device:  # the boot is the flash: timed and reported as one
        image = _image_for(board.flasher, firmware_dir)
        t0 = time.monotonic()
        with driver.start(board.flasher, image, board, log) as dev:
            dev.flash = FlashResult(driver.kind, time.monotonic() - t0, image)
            yield dev
        return
    result = flash_board(board, firmware_dir, flash_log) if flash else None
    with driver.start(board.flasher, result.image if result else None, board, log) as dev:
        dev.flash = result
        yield dev


def check_port(board: Board) -> str | None:
    """Fails fast (before any long stage) when a real board's serial port is missing or busy.

    The port is opened with an exclusive lock and closed again, so another
    ``hil run`` (or a terminal that locks it) on the same board is reported
    as busy.  Boards whose flasher starts the device (QEMU) get their port
    when it starts: None.
    """
    if flasher_for(board.flasher).starts_device or board.emulated:
        return None
    import serial

    from hil.device.link import LinkError

    url = resolve_port(board)
    if "://" in url:
        return url  # socket://, rfc2217://, loop:// are checked when the link opens
    port = serial.serial_for_url(url, baudrate=board.link.baud, do_not_open=True)
    port.exclusive = True
    try:
        port.open()
    except (serial.SerialException, OSError) as exc:
        text = str(exc)
        if "lock" in text.lower() or "busy" in text.lower() or "Errno 11" in text or "Errno 16" in text:
            hint = f"another program holds {url} (a serial terminal, another hil run); close it and retry"
        elif "No such file" in text or "Errno 2" in text:
            hint = "is the board plugged in and powered? list ports with: python -m serial.tools.list_ports -v"
        elif "Permission denied" in text or "Errno 13" in text:
            hint = "add yourself to the dialout group (sudo usermod -aG dialout $USER) and log in again"
        else:
            hint = None
        raise LinkError(f"{board.name}: cannot open serial port {url}: {text}", hint=hint) from None
    port.close()
    return url
