"""The same window through the same image gives the same instruction count
on qemu-m4: streamed twice in one QEMU session and again after a second boot
over the other link (semihosting console, then UART), with requests in flight
so the next window arrives during each invoke (the interrupts that used to
land in the timed region)."""

from __future__ import annotations

import numpy as np
import pytest

from hil.config import load_board
from hil.device.link import open_link
from hil.device.protocol import DeviceClient
from hil.device.qemu import QemuInstance
from tests.fixtures.firmware import REPO

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

BOARD = load_board("qemu-m4", REPO / "boards.yaml")


def _counts(elf, log, x, passes: int, transport: str) -> list[list[int]]:
    out = []
    with QemuInstance(elf, BOARD.flasher.model_copy(update={"transport": transport}), log) as q:
        link = open_link(q.url, BOARD.link.baud, None)
        try:
            client = DeviceClient(link, timeout_s=10, retries=2, inflight=3, board=BOARD.name)
            client.hello()
            for _ in range(passes):
                got = {r.index: r.cycles for r in client.infer_stream(enumerate(x))}
                out.append([got[i] for i in range(len(x))])
        finally:
            link.close()
    return out


def test_identical_windows_give_identical_counts_across_passes_and_boots(qemu_firmware, tmp_path):
    x = np.random.default_rng(12).integers(-128, 128, size=(24, 800), dtype=np.int8)
    runs = (_counts(qemu_firmware.elf, tmp_path / "q1.log", x, 2, "semihosting")
            + _counts(qemu_firmware.elf, tmp_path / "q2.log", x, 1, "uart"))
    first = np.array(runs[0])
    assert len(set(first.tolist())) > 1, "the windows should not all cost the same (the test would prove nothing)"
    for i, other in enumerate(runs[1:], 1):
        np.testing.assert_array_equal(np.array(other), first, err_msg=f"pass {i} differs from pass 0")
