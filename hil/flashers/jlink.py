"""The ``jlink`` flasher: SEGGER ``JLinkExe`` loads hil.bin at the app base (hil.device.jlink_flasher)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

from pydantic import Field

from hil.flashers import ProbeFlasher
from hil.schema import StrictModel


class JlinkFlasher(StrictModel):
    """SEGGER ``JLinkExe`` driven by a generated command file."""

    kind: Literal["jlink"]
    binary: str = Field("JLinkExe", description="J-Link Commander executable.")
    device: str = Field(description="J-Link device name, e.g. AMAP42KK-KBR.")
    interface: Literal["SWD", "JTAG"] = "SWD"
    speed_khz: int = Field(4000, gt=0)
    serial_number: str | None = Field(None, description="Probe serial number (-SelectEmuBySN).")
    app_base: int = Field(description="Flash address the raw binary is loaded at (loadbin).")


class JlinkDriver(ProbeFlasher):
    kind = "jlink"
    config = JlinkFlasher

    def summary(self, cfg: JlinkFlasher) -> str:
        return f"jlink {cfg.device} @0x{cfg.app_base:x}"

    def flash(self, cfg: JlinkFlasher, image: Path, log: Callable[[str], None]) -> None:
        from hil.device.jlink_flasher import flash_jlink

        flash_jlink(cfg, image, log)
