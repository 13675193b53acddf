"""The ``pyocd`` flasher: pyOCD's Python API writes hil.bin at the app base (hil.device.pyocd_flasher)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

from pydantic import Field

from hil.flashers import ProbeFlasher
from hil.schema import StrictModel

if TYPE_CHECKING:
    from hil.doctor import Check


class PyocdFlasher(StrictModel):
    """pyOCD's Python API: probe chosen by unique id, never prompts."""

    kind: Literal["pyocd"]
    target_override: str = Field(description="pyOCD target type, e.g. ama4b2kk_kbr or ama3b1kk_kbr.")
    pack: str | None = Field(None, description="CMSIS-Pack file (.pack) for targets not built into pyOCD.")
    unique_id: str | None = Field(None, description="Probe serial number; required when several probes are attached.")
    frequency_hz: int = Field(4_000_000, gt=0, description="SWD clock.")
    connect_mode: Literal["halt", "pre-reset", "under-reset", "attach"] = "halt"
    app_base: int = Field(description="Flash address the application image is written to.")


class PyocdDriver(ProbeFlasher):
    kind = "pyocd"
    config = PyocdFlasher

    def summary(self, cfg: PyocdFlasher) -> str:
        return f"pyocd {cfg.target_override} @0x{cfg.app_base:x}"

    def checks(self) -> list["Check"]:
        return [check_probes()]

    def absent(self, exc: Exception) -> bool:
        from hil.device.pyocd_flasher import ProbeNotFound

        return isinstance(exc, ProbeNotFound) or super().absent(exc)

    def flash(self, cfg: PyocdFlasher, image: Path, log: Callable[[str], None]) -> None:
        from hil.device.pyocd_flasher import flash_pyocd

        flash_pyocd(cfg, image, log)


def check_probes() -> "Check":
    """Debug probes visible to pyOCD (only needed for real boards)."""
    from hil.doctor import Check

    try:
        from pyocd.probe.aggregator import DebugProbeAggregator

        probes = DebugProbeAggregator.get_all_connected_probes(unique_id=None)
    except Exception as exc:  # pyOCD backends raise many kinds of errors (libusb missing, permissions)
        return Check("debug probes", False, f"pyOCD could not list probes: {exc}",
                     "install the udev rules: see docs/bench-setup.md", required=False)
    if not probes:
        return Check("debug probes", True, "none attached (only needed for real boards)", required=False)
    desc = ", ".join(f"{p.description} [{p.unique_id}]" for p in probes)
    return Check("debug probes", True, desc, required=False)
