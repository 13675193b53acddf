"""Flashers: how an image gets onto a board (or into a process) and which URL talks to it.

A flasher is one module (``hil/flashers/qemu.py``, ``pyocd.py``, ``jlink.py``)
with two classes: its boards.yaml section (a pydantic model whose ``kind:
Literal[...]`` is the discriminator) and a :class:`FlasherDriver` that does the
work.  Two shapes cover the boards hil knows:

- :class:`ProbeFlasher` writes the image through a debug probe or vendor tool
  (``flash``); the board then runs it, and the link is the board's own serial
  port (``link.url`` or ``link.usb``).  It cannot restart the device.
- :class:`ProcessFlasher` runs the image in a process the host starts
  (``start``: an emulator, the native host port) and yields the URL of that
  process's UART; restarting the device is starting the process again.

Registration: built-ins are listed where ``_registry`` is made below; anything else calls
:func:`register_flasher` or ships an entry point of group ``hil.flashers``.
boards.yaml accepts every registered ``kind`` (hil.config asks
:func:`flasher_configs` each time a file is validated).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

from pydantic import BaseModel

from hil.errors import ConfigError
from hil.plugins import Registry

if TYPE_CHECKING:
    from hil.config import Board
    from hil.device.flash import DeviceHandle, FlashLog
    from hil.doctor import Check


class FlasherDriver(ABC):
    """What every flasher provides; subclass ProbeFlasher or ProcessFlasher rather than this."""

    kind: ClassVar[str]                      # boards.yaml `flasher.kind`
    config: ClassVar[type[BaseModel]]        # its section; field `kind: Literal[kind]`
    image: ClassVar[str]                     # file of the firmware folder it needs: "hil.elf" or "hil.bin"
    starts_device: ClassVar[bool]            # True: the device lives in a process `start` owns
    can_restart: ClassVar[bool]              # True: the host can restart the device (after a crash)

    def summary(self, cfg: Any) -> str:
        """One line for `hil boards`."""
        return self.kind

    def checks(self) -> list["Check"]:
        """`hil doctor` checks of the tools this flasher needs (all optional unless the default board needs them)."""
        return []

    def absent(self, exc: Exception) -> bool:
        """Whether ``exc`` from ``flash`` means the tool or probe is not there (then the fallback flasher is tried)."""
        return "not on PATH" in str(exc)

    @abstractmethod
    def flash(self, cfg: Any, image: Path, log: Callable[[str], None]) -> None:
        """Writes ``image`` to the board (ProbeFlasher)."""

    @abstractmethod
    def start(self, cfg: Any, image: Path | None, board: "Board",
              log: "FlashLog") -> AbstractContextManager["DeviceHandle"]:
        """Yields the running device (url, restart, alive); stops whatever it started on exit."""


class ProbeFlasher(FlasherDriver):
    """Writes the image through a probe or tool; the board keeps running it; the link is its serial port."""

    image = "hil.bin"
    starts_device = False
    can_restart = False

    @contextmanager
    def start(self, cfg: Any, image: Path | None, board: "Board", log: "FlashLog") -> Iterator["DeviceHandle"]:
        from hil.device.flash import DeviceHandle, resolve_port

        yield DeviceHandle(resolve_port(board))


class ProcessFlasher(FlasherDriver):
    """Runs the image in a process the host starts; the link is that process's UART."""

    image = "hil.elf"
    starts_device = True
    can_restart = True

    def flash(self, cfg: Any, image: Path, log: Callable[[str], None]) -> None:
        raise ConfigError(f"flasher {self.kind!r} boots {self.image} in a process each run; there is nothing to flash")


_registry: Registry[FlasherDriver] = Registry(
    "flasher", "hil.flashers",
    ("hil.flashers.qemu:QemuDriver", "hil.flashers.pyocd:PyocdDriver", "hil.flashers.jlink:JlinkDriver",
     "hil.flashers.exporter:ExporterDriver"),
    key=lambda d: d.kind,
)


def register_flasher(driver: FlasherDriver | type[FlasherDriver], *, replace: bool = False) -> FlasherDriver:
    """Makes a flasher known: boards.yaml accepts its kind, running_device uses it."""
    return _registry.register(driver, replace=replace)


def unregister_flasher(kind: str) -> None:
    _registry.unregister(kind)


def get_flasher(kind: str) -> FlasherDriver:
    """The driver of a `kind`; ConfigError naming the known kinds."""
    return _registry.get(kind)


def flasher_for(cfg: BaseModel) -> FlasherDriver:
    """The driver of a validated flasher section."""
    return get_flasher(getattr(cfg, "kind"))


def flasher_kinds() -> list[str]:
    return _registry.names()


def all_flashers() -> list[FlasherDriver]:
    return _registry.all()


def flasher_configs() -> tuple[type[BaseModel], ...]:
    """The config model of every registered flasher (the members of boards.yaml's flasher union)."""
    return tuple(d.config for d in _registry.all())
