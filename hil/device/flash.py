"""Getting an image onto a board and a serial URL to talk to it, whatever the board's flasher.

``qemu``: boots the ELF in qemu-system-arm (hil.device.qemu.QemuInstance); the
"flash" is the boot, and a restart re-boots it.  ``pyocd`` / ``jlink``: writes
hil.bin at the app base; a board's ``fallback_flasher`` is tried when the main
flasher's probe or tool is absent.  The link URL is the board's ``link.url``,
or the serial port found by USB identity (``link.usb``), or QEMU's socket.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from hil.config import Board, JlinkFlasher, PyocdFlasher, QemuFlasher
from hil.errors import ConfigError, InfraError


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


def _image_for(flasher: PyocdFlasher | JlinkFlasher | QemuFlasher, firmware_dir: Path) -> Path:
    name = "hil.elf" if flasher.kind == "qemu" else "hil.bin"
    image = Path(firmware_dir) / name
    if not image.is_file():
        raise ConfigError(f"{image}: the firmware has no {name}; build it with `hil build`")
    return image


def _flash_one(flasher: PyocdFlasher | JlinkFlasher, firmware_dir: Path, log: FlashLog) -> Path:
    image = _image_for(flasher, firmware_dir)
    if flasher.kind == "pyocd":
        from hil.device.pyocd_flasher import flash_pyocd

        flash_pyocd(flasher, image, log)
    else:
        from hil.device.jlink_flasher import flash_jlink

        flash_jlink(flasher, image, log)
    return image


def flash_board(board: Board, firmware_dir: Path, log_path: Path | None = None) -> FlashResult:
    """Writes the firmware to a real board (pyocd, then the fallback flasher when the probe/tool is absent)."""
    if board.flasher.kind == "qemu":
        raise ConfigError(f"board {board.name!r} is emulated: it boots from the ELF in QEMU, there is nothing to flash")
    from hil.device.pyocd_flasher import ProbeNotFound

    log = FlashLog(log_path)
    t0 = time.monotonic()
    notes: list[str] = []
    try:
        image = _flash_one(board.flasher, firmware_dir, log)
        used = board.flasher.kind
    except (ProbeNotFound, InfraError) as exc:
        absent = isinstance(exc, ProbeNotFound) or "not on PATH" in str(exc)
        if board.fallback_flasher is None or not absent:
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
    """Boots (QEMU) or flashes (real board) the firmware, yields a handle, and stops QEMU on any exit."""
    if isinstance(board.flasher, QemuFlasher):
        from hil.device.qemu import QemuInstance

        elf = _image_for(board.flasher, firmware_dir)
        log = FlashLog(flash_log)
        log(f"qemu: booting {elf} on {board.flasher.machine} (icount shift={board.flasher.icount_shift})")
        t0 = time.monotonic()
        with QemuInstance(elf, board.flasher, flash_log) as q:
            result = FlashResult("qemu", time.monotonic() - t0, elf)
            log(f"qemu: up at {q.url} in {result.seconds:.1f} s")

            def restart() -> str:
                log("qemu: restarting")
                q.restart()
                log(f"qemu: up again at {q.url}")
                return q.url

            yield DeviceHandle(q.url, restart=restart, alive=q.alive, flash=result)
        return
    result = flash_board(board, firmware_dir, flash_log) if flash else None
    yield DeviceHandle(resolve_port(board), flash=result)


def check_port(board: Board) -> str | None:
    """Fails fast (before any long stage) when a real board's serial port is missing or busy.

    The port is opened with an exclusive lock and closed again, so another
    ``hil run`` (or a terminal that locks it) on the same board is reported
    as busy.  Emulated boards get their port when QEMU starts: None.
    """
    if isinstance(board.flasher, QemuFlasher) or board.emulated:
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
