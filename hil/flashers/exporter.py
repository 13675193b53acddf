"""The ``exporter`` flasher: a labgrid place whose exporter host boots the image itself (an emulated board).

An emulated place is QEMU running on the exporter host with its UART exported
as the place's NetworkSerialPort (docs/lab.md).  Its "flash" is that host's
boot of the image, so hil writes nothing from here; the session's HELLO check
then proves which model the place runs, and a place running another image is
refused (exit 2) before a window is scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

from hil.flashers import ProbeFlasher
from hil.schema import StrictModel


class ExporterFlasher(StrictModel):
    """The place's exporter host boots the image (emulated places); needs the board's `labgrid` section."""

    kind: Literal["exporter"]


class ExporterDriver(ProbeFlasher):
    kind = "exporter"
    config = ExporterFlasher
    image = "hil.elf"

    def summary(self, cfg: ExporterFlasher) -> str:
        return "booted by the labgrid exporter"

    def flash(self, cfg: ExporterFlasher, image: Path, log: Callable[[str], None]) -> None:
        log(f"exporter: the place's exporter host boots its image; nothing is written from here ({image} is what "
            "HELLO must match)")
