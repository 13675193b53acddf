"""TEST PLUG-IN: the ``toy-host`` flasher, proof that a flasher is one module plus its registration.

It "flashes" a board whose port is ``host`` by running the native host-port
executable (hil.elf of such a board's build) with ``HIL_HOST_LINK=pty``; the
port prints ``HIL-PTY <path>`` on stderr and speaks the protocol over that
pseudo-terminal, whose path is the link URL.  A restart runs it again.
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from hil.errors import InfraError
from hil.flashers import ProcessFlasher
from hil.schema import StrictModel

if TYPE_CHECKING:
    from hil.config import Board
    from hil.device.flash import DeviceHandle, FlashLog


class ToyHostFlasher(StrictModel):
    kind: Literal["toy-host"]
    boot_timeout_s: float = Field(10.0, gt=0, description="How long to wait for the port's HIL-PTY line.")


class _HostProcess:
    """One run of the host-port executable; its pty path once it is up."""

    def __init__(self, image: Path, timeout_s: float, log: "FlashLog") -> None:
        self.proc = subprocess.Popen([str(image)], env={**os.environ, "HIL_HOST_LINK": "pty"},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stderr], [], [], timeout_s)
        line = self.proc.stderr.readline().decode(errors="replace") if ready else ""
        if not line.startswith("HIL-PTY "):
            self.stop()
            raise InfraError(f"toy-host: {image} did not open a pty within {timeout_s:g} s (got {line!r})")
        self.url = line.split()[1]
        # Later stderr goes to the flash log, so a full pipe never blocks the port.
        threading.Thread(target=lambda: [log(f"toy-host: {b.decode(errors='replace')}") for b in self.proc.stderr],
                         daemon=True).start()
        time.sleep(0.2)  # let the boot banner go out before a client opens (and flushes) the pty

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ToyHostDriver(ProcessFlasher):
    kind = "toy-host"
    config = ToyHostFlasher

    def summary(self, cfg: ToyHostFlasher) -> str:
        return "toy-host (host-port process on a pty)"

    @contextmanager
    def start(self, cfg: ToyHostFlasher, image: Path | None, board: "Board",
              log: "FlashLog") -> Iterator["DeviceHandle"]:
        from hil.device.flash import DeviceHandle

        assert image is not None
        current = [_HostProcess(image, cfg.boot_timeout_s, log)]
        log(f"toy-host: {image} up on {current[0].url}")

        def restart() -> str:
            current[0].stop()
            current[0] = _HostProcess(image, cfg.boot_timeout_s, log)
            return current[0].url

        try:
            yield DeviceHandle(current[0].url, restart=restart, alive=lambda: current[0].alive())
        finally:
            current[0].stop()
