"""The serial link: any pyserial URL, every byte both ways to a raw log.

``open_link`` accepts what ``serial.serial_for_url`` does -- a device path,
``socket://host:port`` (QEMU's link), ``rfc2217://``, ``loop://`` -- and
returns an open ``serial.SerialBase`` whose reads and writes are also written
to ``log`` (one line per chunk: seconds since open, direction, hex bytes).
"""

from __future__ import annotations

import array
import fcntl
import termios
import threading
import time
from pathlib import Path
from typing import Any

import serial
import serial.tools.list_ports

from hil.config import UsbMatch
from hil.errors import InfraError


class LinkError(InfraError):
    """The serial link failed: cannot open, broken, timed out."""


class RawLog:
    """Append-only hex log of the bytes on the link: ``<seconds> TX|RX <hex>``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f = open(path, "a", buffering=1)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._f.write(f"# hil raw serial log, opened {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")

    def record(self, direction: str, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            self._f.write(f"{time.monotonic() - self._t0:.6f} {direction} {data.hex()}\n")

    def close(self) -> None:
        with self._lock:
            self._f.close()


def _logging_class(base: type) -> type:
    """A subclass of the port's own class whose read/write also log."""

    def read(self: Any, size: int = 1) -> bytes:
        data = base.read(self, size)
        log = getattr(self, "_hil_log", None)
        if log is not None:
            log.record("RX", data)
        return data

    def write(self: Any, data: bytes) -> int | None:
        log = getattr(self, "_hil_log", None)
        if log is not None:
            log.record("TX", bytes(data))
        return base.write(self, data)

    def close(self: Any) -> None:
        base.close(self)
        log = getattr(self, "_hil_log", None)
        if log is not None:
            log.close()
            self._hil_log = None

    return type(f"Logging{base.__name__}", (base,), {"read": read, "write": write, "close": close})


def _counting_socket_class(base: type) -> type:
    """pyserial's socket:// ``in_waiting`` is a select (0 or 1), so a client that reads
    ``in_waiting`` bytes took a frame one byte per call (~0.1 ms each with the raw log:
    docs/link-speed.md). FIONREAD counts what the socket holds."""

    def in_waiting(self: Any) -> int:
        n = array.array("i", [0])
        fcntl.ioctl(self._socket, termios.FIONREAD, n)
        return n[0] or base.in_waiting.fget(self)  # 0 bytes but readable: let read() see the close

    return type(f"Counting{base.__name__}", (base,), {"in_waiting": property(in_waiting)})


def open_link(url: str, baud: int, log: Path | None = None, *, timeout: float = 0.05) -> serial.SerialBase:
    """Opens the link; raises LinkError naming the URL and a likely fix."""
    try:
        port = serial.serial_for_url(url, baudrate=baud, timeout=timeout, write_timeout=10, do_not_open=True)
    except (ValueError, serial.SerialException) as exc:
        raise LinkError(f"serial link {url!r}: {exc}") from None
    if "://" not in url:
        port.exclusive = True  # a device path: no other program may open it while hil streams
    if url.startswith("socket://"):
        port.__class__ = _counting_socket_class(type(port))
    if log is not None:
        port.__class__ = _logging_class(type(port))
        port._hil_log = RawLog(Path(log))  # type: ignore[attr-defined]
    try:
        port.open()
    except serial.SerialException as exc:
        text = str(exc)
        hint = None
        if "Permission denied" in text or "Errno 13" in text:
            hint = "add yourself to the dialout group (sudo usermod -aG dialout $USER) and log in again"
        elif "busy" in text.lower() or "Errno 16" in text:
            hint = "another program holds the port (a terminal, another hil run); close it"
        elif "No such file" in text or "Errno 2" in text:
            hint = "is the board plugged in? list ports with: python -m serial.tools.list_ports -v"
        elif "Connection refused" in text or "Errno 111" in text:
            hint = "nothing listens there; is QEMU running?"
        raise LinkError(f"cannot open serial link {url!r}: {text}", hint=hint) from None
    return port


def find_usb_port(usb: UsbMatch, board: str = "?") -> str:
    """The device path of the one serial port matching a board's USB identity."""
    matches = [
        p
        for p in serial.tools.list_ports.comports()
        if p.vid == usb.vid
        and (usb.pid is None or p.pid == usb.pid)
        and (usb.serial_number is None or p.serial_number == usb.serial_number)
    ]
    want = f"USB {usb.vid:04x}" + (f":{usb.pid:04x}" if usb.pid is not None else "")
    if not matches:
        raise LinkError(
            f"board {board!r}: no serial port with {want}" + (f" serial {usb.serial_number}" if usb.serial_number else ""),
            hint="is the board connected and powered? list ports with: python -m serial.tools.list_ports -v",
        )
    if len(matches) > 1:
        found = ", ".join(f"{p.device} (serial {p.serial_number})" for p in matches)
        raise LinkError(
            f"board {board!r}: several serial ports match {want}: {found}",
            hint="set link.usb.serial_number (or link.url) in boards.yaml to pick one",
        )
    return matches[0].device
