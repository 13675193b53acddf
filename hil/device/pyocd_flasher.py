"""Flashing a board through pyOCD's Python API.

The probe is chosen without ever prompting: the probe list is read first
(``blocking=False``), and with several probes the board entry must name one
by ``unique_id``; then ``ConnectHelper.session_with_chosen_probe`` opens a
session with ``target_override``, the CMSIS pack, the SWD frequency and the
connect mode from boards.yaml.  The raw binary is written with
``FileProgrammer`` at the board's app base, read back to verify, and the
target is reset so the new image runs.
"""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path
from typing import Callable

from hil.config import PyocdFlasher
from hil.errors import ConfigError, InfraError

UDEV_HINT = (
    "the probe is attached but this user may not open it: install the probe's udev rules "
    "(pyOCD's udev/*.rules, or SEGGER's 99-jlink.rules) into /etc/udev/rules.d, run "
    "`sudo udevadm control --reload && sudo udevadm trigger`, re-plug the probe (see docs/bench-setup.md)"
)


class ProbeNotFound(InfraError):
    """No debug probe answered: a cable, power or probe problem; retrying (or the fallback flasher) may help."""


def _is_permission_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, PermissionError) or getattr(seen, "errno", None) in (errno.EACCES, errno.EPERM):
            return True
        text = str(seen).lower()
        if "access denied" in text or "permission" in text or "insufficient permissions" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _LogHandler(logging.Handler):
    """Copies pyOCD's own log lines into the run's flash log."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        self._write(f"pyocd {record.levelname.lower()}: {record.getMessage()}")


def flash_pyocd(cfg: PyocdFlasher, image: Path, log: Callable[[str], None] = lambda s: None) -> None:
    """Writes ``image`` (a raw .bin) at ``cfg.app_base``, verifies it, resets the target.

    Raises ConfigError (exit 3) for what a config change fixes (pack missing,
    unknown target, several probes and no unique_id) and InfraError (exit 2)
    for what retrying may fix (no probe, udev permissions, flash failure).
    """
    image = Path(image)
    if not image.is_file():
        raise ConfigError(f"{image}: no firmware image here; build it first with `hil build`")
    if cfg.pack is not None and not Path(cfg.pack).expanduser().is_file():
        raise ConfigError(
            f"boards.yaml: flasher.pack {cfg.pack!r} does not exist",
            hint=f"download the CMSIS pack for {cfg.target_override} (see docs/bench-setup.md) and set flasher.pack to its path",
        )
    handler = _LogHandler(log)
    pyocd_log = logging.getLogger("pyocd")
    pyocd_log.addHandler(handler)
    try:
        uid = _the_probe(cfg, log)
        _program(_open_session(cfg, uid), cfg, image, uid, log)
    finally:
        pyocd_log.removeHandler(handler)


def _the_probe(cfg: PyocdFlasher, log: Callable[[str], None]) -> str:
    """The unique id of the one probe this board uses (none, or several without unique_id, are errors)."""
    from pyocd.core.helpers import ConnectHelper

    try:
        probes = ConnectHelper.get_all_connected_probes(blocking=False, unique_id=cfg.unique_id)
    except Exception as exc:  # libusb/hidapi errors surface as many types
        if _is_permission_error(exc):
            raise InfraError(f"pyocd: cannot open the debug probe: {exc}", hint=UDEV_HINT) from exc
        raise InfraError(f"pyocd: listing debug probes failed: {exc}") from exc
    log(f"pyocd: probes: {[(p.description, p.unique_id) for p in probes]}")
    if not probes:
        which = f" with unique_id containing {cfg.unique_id!r}" if cfg.unique_id else ""
        raise ProbeNotFound(
            f"pyocd: no debug probe{which} is connected",
            hint="check the USB cable and the board's power; `pyocd list` shows what pyOCD sees; "
            "on Linux a probe you may not open is invisible without udev rules (docs/bench-setup.md)",
        )
    if len(probes) > 1:
        listing = ", ".join(f"{p.description} ({p.unique_id})" for p in probes)
        what = f"match unique_id {cfg.unique_id!r}" if cfg.unique_id else "are connected and boards.yaml names none"
        raise ConfigError(
            f"pyocd: {len(probes)} debug probes {what}: {listing}",
            hint="set flasher.unique_id of this board in boards.yaml to the full serial number of its probe",
        )
    return probes[0].unique_id


def _open_session(cfg: PyocdFlasher, uid: str):
    from pyocd.core import exceptions as pe
    from pyocd.core.helpers import ConnectHelper

    options = {"target_override": cfg.target_override, "frequency": cfg.frequency_hz, "connect_mode": cfg.connect_mode}
    if cfg.pack:
        options["pack"] = str(Path(cfg.pack).expanduser())
    try:
        session = ConnectHelper.session_with_chosen_probe(blocking=False, return_first=True, unique_id=uid, options=options)
    except pe.TargetSupportError as exc:
        raise ConfigError(
            f"pyocd: target {cfg.target_override!r} is not supported: {exc}",
            hint="name a CMSIS pack holding it in flasher.pack (boards.yaml), or fix flasher.target_override",
        ) from exc
    if session is None:
        raise ProbeNotFound(f"pyocd: the probe {uid} went away before the session opened")
    return session


def _program(session, cfg: PyocdFlasher, image: Path, uid: str, log: Callable[[str], None]) -> None:
    """Programs, reads back and compares, resets; pyOCD's errors become exit 3 or 2 by what fixes them."""
    from pyocd.core import exceptions as pe
    from pyocd.flash.file_programmer import FileProgrammer

    t0 = time.monotonic()
    try:
        with session:
            target = session.board.target
            data = image.read_bytes()
            log(f"pyocd: programming {image} ({len(data)} bytes) at 0x{cfg.app_base:x}")
            FileProgrammer(session).program(str(image), file_format="bin", base_address=cfg.app_base)
            readback = bytes(target.read_memory_block8(cfg.app_base, len(data)))
            if readback != data:
                bad = next(i for i, (a, b) in enumerate(zip(readback, data)) if a != b) if len(readback) == len(data) else 0
                raise InfraError(f"pyocd: verify failed at 0x{cfg.app_base + bad:x}: flash does not hold the image")
            log("pyocd: verify ok")
            target.reset()
            log(f"pyocd: reset; flashed in {time.monotonic() - t0:.1f} s")
    except pe.TargetSupportError as exc:
        raise ConfigError(
            f"pyocd: target {cfg.target_override!r} is not supported: {exc}",
            hint="name a CMSIS pack holding it in flasher.pack (boards.yaml)",
        ) from exc
    except InfraError:
        raise
    except (pe.Error, OSError) as exc:
        if _is_permission_error(exc):
            raise InfraError(f"pyocd: cannot open the debug probe {uid}: {exc}", hint=UDEV_HINT) from exc
        raise InfraError(f"pyocd: flashing through probe {uid} failed: {type(exc).__name__}: {exc}") from exc
