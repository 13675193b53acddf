"""The QEMU command line of each link transport of a qemu board (no QEMU started here:
tests/integration/test_firmware_qemu.py boots the image over both)."""

from __future__ import annotations

from pathlib import Path

from hil.config import load_board
from hil.device.qemu import LINK_SELECT_ADDR, LINK_SEMIHOSTING, QemuInstance

REPO = Path(__file__).resolve().parents[2]
BOARD = load_board("qemu-m4", REPO / "boards.yaml")
MPS2_H = REPO / "firmware" / "ports" / "qemu_mps2" / "mps2.h"


def _command(transport: str) -> list[str]:
    flasher = BOARD.flasher.model_copy(update={"transport": transport})
    return QemuInstance(Path("hil.elf"), flasher).command(4321)


def _after(cmd: list[str], opt: str) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == opt]


def test_uart_transport_puts_the_first_uart_on_the_socket_and_nothing_else():
    cmd = _command("uart")
    assert _after(cmd, "-serial") == ["tcp:127.0.0.1:4321,server=on,wait=on,nodelay=on"]
    assert "-semihosting-config" not in cmd and "-device" not in cmd
    assert _after(cmd, "-icount") == ["shift=0"] and cmd[-2:] == ["-kernel", "hil.elf"]


def test_semihosting_transport_routes_the_console_to_the_socket_and_tells_the_image():
    cmd = _command("semihosting")
    assert _after(cmd, "-serial") == ["null"]
    (chardev,) = _after(cmd, "-chardev")
    assert chardev.startswith("socket,id=hil-link,host=127.0.0.1,port=4321,") and "nodelay=on" in chardev
    assert _after(cmd, "-semihosting-config") == ["enable=on,target=native,chardev=hil-link"]
    (loader,) = _after(cmd, "-device")
    assert loader == f"loader,addr={LINK_SELECT_ADDR:#x},data={LINK_SEMIHOSTING:#x},data-len=4"


def test_the_link_selector_matches_the_port():
    """The address and word QEMU stores are the ones the qemu_mps2 port reads."""
    text = MPS2_H.read_text()
    assert f"#define MPS2_LINK_SELECT_ADDR {LINK_SELECT_ADDR:#010x}u" in text
    assert f"#define MPS2_LINK_SEMIHOSTING 0x{LINK_SEMIHOSTING:08X}u" in text
