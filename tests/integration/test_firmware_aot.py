"""The real image: the aot engine of ``tiny_export`` built by build_firmware,
run natively (host port) and in QEMU over pyserial's socket://, bit-exact with
TFLite (BUILTIN_REF) and TFLM on the host on >= 1,000 windows each."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from hil.device.link import open_link
from hil.device.protocol import DeviceClient
from tests.fixtures.firmware import host_port_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def references(bit_exact_set):
    """>= 1,000 windows, four real records among them, and both host references (tests/fixtures/windows.py)."""
    return bit_exact_set.x, bit_exact_set.tflite, bit_exact_set.tflm_host


def test_build_outputs_and_reuse(qemu_firmware, tiny_export):
    from hil.firmware.build import build_firmware

    folder = qemu_firmware.folder
    for name in ("hil.elf", "hil.bin", "hil.map", "size.json", "manifest.json"):
        assert (folder / name).is_file(), name
    size = json.loads((folder / "size.json").read_text())
    assert size["text"] > size["model_bytes"] > 0 and size["arena_bytes"] > 0
    assert size["flash_bytes"] == size["text"] + size["data"]
    assert (folder / "hil.bin").stat().st_size >= size["text"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["inputs"]["tflite"] == hashlib.sha256((tiny_export / "model.tflite").read_bytes()).hexdigest()
    assert manifest["inputs"]["engine"] == "aot" and "arm-none-eabi-gcc" in manifest["inputs"]["toolchain"]
    before = (folder / "hil.elf").stat().st_mtime_ns
    again = build_firmware(qemu_firmware.board, _cfg(), _paths(tiny_export), "aot")
    assert again == folder and (folder / "hil.elf").stat().st_mtime_ns == before, "a fresh image is reused"


def _cfg():
    from tests.fixtures.firmware import _cfg

    return _cfg()


def _paths(export):
    from tests.fixtures.firmware import _paths_for_export

    return _paths_for_export(export)


def _check_stream(client, tiny_export, references):
    x, ref, tflm = references
    info = client.hello()
    assert info.engine == "aot"
    assert info.model_sha256 == hashlib.sha256((tiny_export / "model.tflite").read_bytes()).hexdigest()
    assert info.input.bytes == x.shape[1] and info.output.bytes == ref.shape[1]
    got = {r.index: r for r in client.infer_stream(enumerate(x))}
    assert sorted(got) == list(range(len(x)))
    out = np.stack([got[i].outputs for i in range(len(x))])
    np.testing.assert_array_equal(out, ref, err_msg="device vs TFLite BUILTIN_REF")
    np.testing.assert_array_equal(out, tflm, err_msg="device vs TFLM on the host")
    return info, got


def test_host_port_is_bit_exact(host_firmware, tiny_export, references):
    with host_port_process(host_firmware.elf) as (_proc, url):
        link = open_link(url, 115200)
        try:
            client = DeviceClient(link, timeout_s=10, retries=1, inflight=4, board="host")
            _check_stream(client, tiny_export, references)
        finally:
            link.close()


@pytest.mark.qemu
def test_qemu_is_bit_exact_and_measures(qemu_device, tiny_export, references):
    client = qemu_device.client
    info, got = _check_stream(client, tiny_export, references)
    ticks = [r.cycles for r in got.values()]
    counts = qemu_device.firmware.board.timer.counts_per_tick
    bench = client.bench_result(3)
    # No I/O during BENCH: the same instructions every time (one tick of quantisation).
    assert bench.max_ticks - bench.min_ticks <= 1
    # Streamed invokes differ a little with the data and the RX interrupts of the next window.
    assert all(abs(t - bench.min_ticks) < 0.05 * bench.min_ticks for t in ticks)
    assert 100_000 < bench.min_ticks * counts < 50_000_000, "instructions per inference in a sane range"
    ops = client.profile()
    assert len(ops) == info.ops > 0
    from hil.export.tflite_info import read_ops

    assert {o.op_name for o in ops} <= set(read_ops(tiny_export / "model.tflite"))
    # The per-op ticks add up to the invoke (each op's timer reads cost a little).
    assert abs(sum(o.ticks for o in ops) - bench.min_ticks) <= 0.02 * bench.min_ticks + len(ops)


def test_real_image_handles_the_bad_input_vectors(host_firmware):
    """The protocol vectors against the aot image (host port): the same replies as the test double."""
    import subprocess

    from hil.device.framing import Frame, MsgType, encode
    from tests.fixtures.firmware import VECTORS

    exchanges = json.loads(VECTORS.read_text())["exchanges"]
    echo = encode(Frame(MsgType.ECHO, 0x0BEE, b"still here"))
    stream = b"".join(bytes.fromhex(v["request_hex"]) for v in exchanges) + echo
    out = subprocess.run([str(host_firmware.elf)], input=stream, capture_output=True, timeout=60).stdout
    replies = out[out.index(b"\r\n\x00") + 3 :]
    expect = "".join(v["response_hex"] for v in exchanges) + encode(Frame(MsgType.ECHO_REPLY, 0x0BEE, b"still here")).hex()
    assert replies.hex() == expect
