"""Runs firmware in ``qemu-system-arm`` with its UART on a local TCP port.

``QemuInstance`` starts QEMU for a board's machine with deterministic
instruction counting (``-icount shift=N``), the link (the first UART, or the
semihosting console when the board's ``flasher.transport`` says so) as a TCP
server on a free port of 127.0.0.1, waits for the firmware's boot banner,
notices when QEMU dies and always stops it (on exit, on Ctrl-C, on error).
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from hil.config import QemuFlasher
from hil.device.framing import BANNER_PREFIX
from hil.errors import ConfigError, InfraError


# The qemu_mps2 port reads this word at boot to pick its link (firmware/ports/qemu_mps2/mps2.h).
LINK_SELECT_ADDR = 0x20000000
LINK_SEMIHOSTING = 0x4B4E4C53


class QemuError(InfraError):
    """QEMU could not start, died, or the firmware never booted."""


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the Python process dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuInstance:
    """A running QEMU; use as a context manager. ``url`` is the UART's pyserial URL."""

    def __init__(self, elf: Path, flasher: QemuFlasher, log: Path | None = None) -> None:
        self.elf = Path(elf)
        self.flasher = flasher
        self.log = Path(log) if log else None
        self.port = 0
        self.banner: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if not self.port:
            raise QemuError("QEMU is not running; start it first (use QemuInstance as a context manager)")
        return f"socket://127.0.0.1:{self.port}"

    def command(self, port: int) -> list[str]:
        f = self.flasher
        cmd = [f.binary, "-machine", f.machine]
        if f.cpu:
            cmd += ["-cpu", f.cpu]
        cmd += ["-icount", f"shift={f.icount_shift}", "-display", "none", "-monitor", "none"]
        # QEMU waits for the host to connect before it runs the image (wait=on); nodelay: a frame
        # leaves at once instead of waiting for the previous one's ACK (Nagle).
        opts = "server=on,wait=on,nodelay=on"
        if f.transport == "uart":
            cmd += ["-serial", f"tcp:127.0.0.1:{port},{opts}"]
        else:
            cmd += [
                "-serial", "null",
                "-chardev", f"socket,id=hil-link,host=127.0.0.1,port={port},{opts}",
                "-semihosting-config", "enable=on,target=native,chardev=hil-link",
                # Tells the image to use the console (stored again at every reset, before it runs).
                "-device", f"loader,addr={LINK_SELECT_ADDR:#x},data={LINK_SEMIHOSTING:#x},data-len=4",
            ]
        return [*cmd, "-kernel", str(self.elf), *f.extra_args]

    def start(self) -> "QemuInstance":
        if not self.elf.is_file():
            raise ConfigError(f"{self.elf}: no firmware image; build it with `hil build`")
        if shutil.which(self.flasher.binary) is None:
            raise QemuError(
                f"{self.flasher.binary} not found on PATH",
                hint="install it: sudo apt-get install qemu-system-arm (or set flasher.binary in boards.yaml)",
            )
        last: Exception | None = None
        for _ in range(3):  # another process may grab the free port between our probe and QEMU's bind
            self.port = free_tcp_port()
            if self.log:
                self.log.parent.mkdir(parents=True, exist_ok=True)
                self._log_file = open(self.log, "ab")
                self._log_file.write(("$ " + " ".join(self.command(self.port)) + "\n").encode())
                self._log_file.flush()
            self._proc = subprocess.Popen(
                self.command(self.port),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file or subprocess.DEVNULL,
                stderr=self._log_file or subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal is ours to handle, not QEMU's
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
            try:
                self.banner = self._wait_banner()
                return self
            except QemuError as exc:
                last = exc
                self.stop()
        assert last is not None
        raise last

    def _wait_banner(self) -> str:
        """Connects to the UART, reads up to the boot banner, disconnects."""
        deadline = time.monotonic() + self.flasher.boot_timeout_s
        sock = None
        while sock is None:
            self._check_alive("while starting")
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.2)
            except OSError:
                if time.monotonic() > deadline:
                    raise QemuError(f"QEMU did not open its UART port {self.port} in time{self._log_hint()}")
                time.sleep(0.05)
        buf = b""
        try:
            sock.settimeout(0.1)
            while True:
                i = buf.find(BANNER_PREFIX)
                if i >= 0 and b"\n" in buf[i:]:
                    line = buf[i:].split(b"\n", 1)[0]
                    return line.decode("ascii", "replace").strip()
                if time.monotonic() > deadline:
                    raise QemuError(
                        f"no boot banner from {self.elf.name} within {self.flasher.boot_timeout_s:g} s "
                        f"(got {len(buf)} bytes){self._log_hint()}",
                        hint="is the image built for this board's port? try `hil build --board ...` again",
                    )
                self._check_alive("before its boot banner")
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    raise QemuError(f"QEMU closed the UART connection before the boot banner{self._log_hint()}")
                buf += chunk
        finally:
            sock.close()

    def _log_hint(self) -> str:
        return f"; see {self.log}" if self.log else ""

    def _check_alive(self, when: str) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise QemuError(f"QEMU exited with status {self._proc.returncode} {when}{self._log_hint()}")

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.port = 0

    def restart(self) -> "QemuInstance":
        self.stop()
        return self.start()

    def __enter__(self) -> "QemuInstance":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __del__(self) -> None:  # last resort: never leave a QEMU behind
        try:
            self.stop()
        except Exception:
            pass
