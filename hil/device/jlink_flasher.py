"""Flashing a board with SEGGER J-Link Commander (``JLinkExe``) and a generated command file.

The command file connects (device, SWD/JTAG, speed), halts, ``loadbin``s the
raw image at the app base, ``verifybin``s it, resets and starts the core.
JLinkExe's exit status is not reliable across versions, so its output is
parsed as well: any known failure line fails the flash, and the load and
verify must both be confirmed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from hil.config import JlinkFlasher
from hil.errors import ConfigError, InfraError

# Lines JLinkExe prints when something went wrong (several versions' wording).
_FAILURES = (
    (re.compile(r"Connecting to J-Link via USB\.{3}FAILED", re.I), "no J-Link probe found over USB"),
    (re.compile(r"Cannot connect to J-Link", re.I), "no J-Link probe found"),
    (re.compile(r"Cannot connect to target|Could not connect to target|Failed to connect", re.I), "the probe cannot connect to the target (power, cable, SWD pins)"),
    (re.compile(r"Unknown device|Device .* is unknown", re.I), "J-Link does not know the device name"),
    (re.compile(r"Verify failed|Verification failed|Data verification failed|Verify error", re.I), "verify failed: flash does not hold the image"),
    (re.compile(r"Download failed|Failed to (program|download|erase)|Flash programming failed|Writing target memory failed", re.I), "flash programming failed"),
    (re.compile(r"Could not open file|Failed to open file", re.I), "JLinkExe could not read the image"),
    (re.compile(r"^\s*ERROR[: ]", re.I | re.M), "JLinkExe reported an error"),
)
_LOADED = re.compile(r"O\.K\.|Flash download: .*(?:done|Program & Verify speed)|Downloading file .*\bdone\b", re.I)
_VERIFIED = re.compile(r"Verify successful|Verification successful|Verify OK", re.I)


def command_file(cfg: JlinkFlasher, image: Path) -> str:
    """The J-Link Commander script for one flash (also what the tests check)."""
    img = str(Path(image).resolve())
    return "\n".join(
        [
            f"device {cfg.device}",
            f"si {cfg.interface}",
            f"speed {cfg.speed_khz}",
            "connect",
            "r",
            "h",
            f'loadbin "{img}", 0x{cfg.app_base:X}',
            f'verifybin "{img}", 0x{cfg.app_base:X}',
            "r",
            "g",
            "exit",
            "",
        ]
    )


def command_line(cfg: JlinkFlasher, script: Path) -> list[str]:
    exe = shutil.which(cfg.binary)
    if exe is None:
        raise InfraError(
            f"jlink: {cfg.binary!r} is not on PATH",
            hint="install SEGGER's J-Link Software Pack (docs/bench-setup.md) or set flasher.binary in boards.yaml",
        )
    args = [exe, "-NoGui", "1", "-ExitOnError", "1", "-AutoConnect", "1",
            "-Device", cfg.device, "-If", cfg.interface, "-Speed", str(cfg.speed_khz)]
    if cfg.serial_number:
        args += ["-SelectEmuBySN", cfg.serial_number]
    return args + ["-CommandFile", str(script)]


def parse_output(output: str, returncode: int) -> None:
    """Raises InfraError (or ConfigError for an unknown device name) unless the output shows load and verify."""
    for pattern, meaning in _FAILURES:
        m = pattern.search(output)
        if m:
            start = output.rfind("\n", 0, m.start()) + 1
            end = output.find("\n", m.end())
            line = output[start : len(output) if end < 0 else end].strip()
            cls = ConfigError if "device name" in meaning else InfraError
            raise cls(f"jlink: {meaning}: {line!r}", hint="the full JLinkExe output is in the run's flash.log")
    if returncode != 0:
        raise InfraError(f"jlink: JLinkExe exited with status {returncode}", hint="see flash.log for its output")
    if not _LOADED.search(output):
        raise InfraError("jlink: JLinkExe did not confirm the download (no 'O.K.' after loadbin)", hint="see flash.log")
    if not _VERIFIED.search(output):
        raise InfraError("jlink: JLinkExe did not confirm the verify ('Verify successful')", hint="see flash.log")


def flash_jlink(cfg: JlinkFlasher, image: Path, log: Callable[[str], None] = lambda s: None, timeout_s: float = 180) -> None:
    image = Path(image)
    if not image.is_file():
        raise ConfigError(f"{image}: no firmware image here; build it first with `hil build`")
    with tempfile.TemporaryDirectory(prefix="hil-jlink-") as tmp:
        script = Path(tmp) / "flash.jlink"
        script.write_text(command_file(cfg, image))
        args = command_line(cfg, script)
        log("jlink: " + " ".join(args))
        log("jlink: command file:\n" + script.read_text())
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise InfraError(f"jlink: JLinkExe did not finish in {timeout_s:.0f} s") from exc
        except OSError as exc:
            raise InfraError(f"jlink: cannot run {args[0]}: {exc}") from exc
    output = proc.stdout + proc.stderr
    log(output)
    parse_output(output, proc.returncode)
