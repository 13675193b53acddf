"""The ``qemu`` flasher: boots the ELF in qemu-system-arm; the link is a TCP socket on 127.0.0.1.

The board's ``transport`` says what carries it: the port's UART or QEMU's
semihosting console (docs/link-speed.md).

The "flash" is the boot, and a restart boots it again (hil.device.qemu.QemuInstance
does the process handling).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from hil.flashers import ProcessFlasher
from hil.schema import StrictModel

if TYPE_CHECKING:
    from hil.config import Board
    from hil.device.flash import DeviceHandle, FlashLog
    from hil.doctor import Check


class QemuFlasher(StrictModel):
    """Loads the ELF into ``qemu-system-arm``; the link is a TCP socket on 127.0.0.1 (``transport``)."""

    kind: Literal["qemu"]
    binary: str = Field("qemu-system-arm", description="QEMU executable.")
    machine: str = Field(description="QEMU machine, e.g. mps2-an386 (Cortex-M4F).")
    cpu: str | None = Field(None, description="-cpu override; None keeps the machine's default.")
    icount_shift: int = Field(0, ge=0, le=10, description="-icount shift=N: deterministic instruction counting.")
    transport: Literal["uart", "semihosting"] = Field(
        "uart",
        description="What carries the link to the TCP socket: 'uart' (the port's UART0, one byte per QEMU "
        "main-loop turn, ~15-20 windows/s) or 'semihosting' (QEMU's semihosting console, whole buffers per "
        "call; the image is the same and INFO reports which ran). docs/link-speed.md.",
    )
    extra_args: list[str] = Field(default_factory=list, description="Extra QEMU arguments.")
    boot_timeout_s: float = Field(20.0, gt=0, description="How long to wait for the firmware's boot banner.")


class QemuDriver(ProcessFlasher):
    kind = "qemu"
    config = QemuFlasher

    def summary(self, cfg: QemuFlasher) -> str:
        return f"qemu {cfg.machine} icount={cfg.icount_shift} link={cfg.transport}"

    def checks(self) -> list["Check"]:
        from hil.doctor import APT_FIX, check_tool

        return [check_tool("qemu-system-arm", ["qemu-system-arm", "--version"], APT_FIX)]

    @contextmanager
    def start(self, cfg: QemuFlasher, image: Path | None, board: "Board", log: "FlashLog") -> Iterator["DeviceHandle"]:
        from hil.device.flash import DeviceHandle
        from hil.device.qemu import QemuInstance

        assert image is not None
        log(f"qemu: booting {image} on {cfg.machine} (icount shift={cfg.icount_shift}, link {cfg.transport})")
        t0 = time.monotonic()
        with QemuInstance(image, cfg, log.path) as q:
            log(f"qemu: up at {q.url} in {time.monotonic() - t0:.1f} s")

            def restart() -> str:
                log("qemu: restarting")
                q.restart()
                log(f"qemu: up again at {q.url}")
                return q.url

            yield DeviceHandle(q.url, restart=restart, alive=q.alive)
