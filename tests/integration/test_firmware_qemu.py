"""The firmware on QEMU mps2-an386 (Cortex-M4F): the real aot image of
``tiny_export`` for boot, HELLO/INFO, ECHO, BENCH, PROFILE, the protocol
vectors, a HardFault report and the reset after it, a reset mid-stream; the
test-double engine where exact outputs and instruction counts are needed.
The image's tests run over both links of the board (``flasher.transport``):
the UART path every real board's port shares, and the semihosting console."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from hil.config import load_board
from hil.device.framing import Deframer, Frame, MsgType, encode
from hil.device.link import open_link
from hil.device.protocol import DeviceClient
from hil.device.qemu import QemuError, QemuInstance
from tests.fixtures.firmware import REPO, VECTORS, FaultyPort, fake_engine_outputs, read_until

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

BOARD = load_board("qemu-m4", REPO / "boards.yaml")
BOARD_NAME = BOARD.name


@pytest.fixture(scope="module", params=["uart", "semihosting"])
def qemu(request, qemu_firmware, tmp_path_factory):
    log = tmp_path_factory.mktemp("qemu") / "qemu.log"
    flasher = BOARD.flasher.model_copy(update={"transport": request.param})
    with QemuInstance(qemu_firmware.elf, flasher, log) as q:
        yield q


def _client(url, log=None, **kw) -> DeviceClient:
    link = open_link(url, BOARD.link.baud, log)
    return DeviceClient(link, **{"timeout_s": 5, "retries": 2, "inflight": 2, "board": BOARD_NAME, **kw})


@pytest.fixture()
def client(qemu, tmp_path):
    c = _client(qemu.url, tmp_path / "serial.log")
    try:
        yield c
    finally:
        c.port.close()


def test_boot_banner_names_the_protocol(qemu):
    assert qemu.alive()
    assert qemu.banner.startswith("HIL-BOOT proto=1 ")
    assert "board=qemu-m4" in qemu.banner and "engine=aot" in qemu.banner


def test_hello_info(client, qemu, tiny_export):
    info = client.hello()
    assert (info.protocol_version, info.board, info.engine) == (1, "qemu-m4", "aot")
    assert info.link == qemu.flasher.transport  # the image took the link QEMU was started with
    assert info.clock_hz == 25_000_000 and info.rx_buffer_bytes == 8192 and info.max_payload == 4096
    assert info.model_sha256 == hashlib.sha256((tiny_export / "model.tflite").read_bytes()).hexdigest()
    assert info.input.dtype == "int8" and info.input.bytes == 800 and info.output.bytes == 4
    assert info.arena_bytes > 0 and info.ops > 0


def test_echo_bench_profile(client):
    assert client.echo(bytes(range(256)) * 3) == bytes(range(256)) * 3
    assert client.echo(b"") == b""
    assert client.sink(b"\x00" * 800) == 0x688FA2E3  # zlib.crc32(bytes(800))
    b = client.bench_result(3)
    assert b.n == 3 and b.max_ticks - b.min_ticks <= 1
    ops = client.profile()
    assert len(ops) == client.hello().ops and {"CONV_2D", "DEPTHWISE_CONV_2D"} <= {o.op_name for o in ops}


def test_protocol_vectors_on_the_device(qemu):
    """Every bad-input exchange gets exactly its reply, and the device keeps serving."""
    exchanges = json.loads(VECTORS.read_text())["exchanges"]
    echo = encode(Frame(MsgType.ECHO, 0x0BEE, b"still here"))
    tail = encode(Frame(MsgType.ECHO_REPLY, 0x0BEE, b"still here"))
    expect = "".join(v["response_hex"] for v in exchanges) + tail.hex()
    link = open_link(qemu.url, BOARD.link.baud)
    try:
        link.reset_input_buffer()
        got = b""
        for v in exchanges:  # one at a time: the device's RX ring holds 8 KiB
            want = len(got) + len(v["response_hex"]) // 2
            link.write(bytes.fromhex(v["request_hex"]))
            link.timeout = 0.1 if not v["response_hex"] else 5
            got += link.read(want - len(got) if want > len(got) else 1)
        link.write(echo)
        link.timeout = 0.2
        got += read_until(link, lambda b: (got + b).endswith(tail), "the ECHO_REPLY after the vectors", 10)
    finally:
        link.close()
    assert got.hex() == expect


def test_hardfault_is_reported_then_the_device_resets(client):
    client.hello()
    client.port.write(encode(Frame(MsgType.CRASH, 99)))
    raw = read_until(client.port, lambda b: any(getattr(e, "banner", None) for e in Deframer().feed(b)),
                     "the fault report and the boot banner after CRASH", 30)
    events = Deframer().feed(raw)
    fault = [e for e in events if isinstance(e, Frame) and e.type == MsgType.ERROR][0]
    assert fault.payload[:2] == b"\x0b\x00" and b"HardFault pc=0x" in fault.payload and b"cfsr=0x" in fault.payload
    assert "reset=fault" in [e for e in events if getattr(e, "banner", None)][0].banner
    assert client.hello().reset_reason == "fault"


def test_reset_mid_stream_recovers_every_window(qemu, tiny_export, tmp_path):
    """A CRASH injected after the 5th request: the device faults and reboots,
    the client re-sends what was in flight, every window is scored once, right."""
    from hil.export.references import tflite_ref_outputs

    link = open_link(qemu.url, BOARD.link.baud, tmp_path / "serial.log")
    port = FaultyPort(link, seed=0, inject_after_writes={6: encode(Frame(MsgType.CRASH, 1234))})
    client = DeviceClient(port, timeout_s=5, retries=3, inflight=2, board=BOARD_NAME)
    x = np.random.default_rng(4).integers(-128, 128, size=(12, 800), dtype=np.int8)
    try:
        client.hello()
        results = {r.index: r.outputs for r in client.infer_stream(enumerate(x))}
    finally:
        link.close()
    assert client.stats.resets >= 1
    assert sorted(results) == list(range(12))
    np.testing.assert_array_equal(np.stack([results[i] for i in range(12)]),
                                  tflite_ref_outputs(tiny_export / "model.tflite", x))


# ----------------------------------------------------------------- test-double engine


@pytest.fixture(scope="module")
def fake_qemu(fake_engine_qemu_elf, tmp_path_factory):
    with QemuInstance(fake_engine_qemu_elf, BOARD.flasher, tmp_path_factory.mktemp("qemu") / "qemu.log") as q:
        yield q


def test_stream_and_instruction_counts_with_the_test_double(fake_qemu):
    client = _client(fake_qemu.url)
    try:
        assert client.hello().engine == "test"
        x = np.random.default_rng(2).integers(-128, 128, size=(24, 800), dtype=np.int8)
        results = sorted(client.infer_stream(enumerate(x)), key=lambda r: r.index)
        assert [r.index for r in results] == list(range(24))
        for r in results:
            np.testing.assert_array_equal(r.outputs, fake_engine_outputs(x[r.index]))
        b = client.bench_result(20)
        # Deterministic under -icount with no I/O: every invoke runs the same instructions,
        # so ticks of 40 instructions differ by at most the one the quantisation splits.
        assert b.n == 20 and b.max_ticks - b.min_ticks <= 1
        assert 20 * b.min_ticks <= b.total_ticks <= 20 * b.max_ticks
        # The test double's inner loop is ~11 instructions per input byte (gcc -O2): 800 bytes
        # are ~8,800 instructions, ~220 SysTick ticks of 40 instructions (not 1, not 1000).
        ops = client.profile()
        assert [o.op_name for o in ops] == ["FULLY_CONNECTED", "RESHAPE"]
        assert 160 <= ops[0].ticks <= 280
    finally:
        client.port.close()


def test_qemu_instance_reports_an_image_qemu_cannot_run(tmp_path, fake_engine_host_port):
    """A host executable given as the image: QemuError, not a hang."""
    flasher = BOARD.flasher.model_copy(update={"boot_timeout_s": 2.0})
    with pytest.raises(QemuError):
        with QemuInstance(fake_engine_host_port, flasher, tmp_path / "qemu.log"):
            pass


def test_qemu_instance_restarts_and_stops_qemu(fake_engine_qemu_elf, tmp_path):
    q = QemuInstance(fake_engine_qemu_elf, BOARD.flasher, tmp_path / "qemu.log")
    with q:
        proc = q._proc
        assert q.alive()
        q.restart()
        assert q.alive() and q._proc is not proc and q.banner.startswith("HIL-BOOT")
        proc = q._proc
    assert not q.alive() and proc.poll() is not None
