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


N_WINDOWS = 1000  # issue 5: at least 1,000 windows streamed per CI run, bit-exact with both references


def _windows(tiny_model, tflite, lsad_sample, tmp_dir) -> np.ndarray:
    """>= 1,000 int8 windows, quantised like the run does: synthetic LSAD (test and val), the four real
    sample records (every lead, several starts), uniform random int8 and the extremes."""
    from hil.data import prepare_dataset
    from hil.export.quantize import quantize_input
    from hil.export.tflite_info import read_io_quant

    scale, zp, *_ = read_io_quant(tflite)
    cfg, ds = tiny_model.cfg, tiny_model.dataset
    synthetic = np.concatenate([ds.windows("test").x, ds.windows("val").x])
    # "all" is every split's fixed list: 40 windows of each of the four records.
    many = {f"{s}_samples_per_patient": 40 for s in ("train", "val", "test")}
    sample_cfg = cfg.model_copy(update={"windows": cfg.windows.model_copy(update=many)})
    real = prepare_dataset(sample_cfg, lsad_sample, tmp_dir, progress=False).windows("all").x
    frame = synthetic.shape[1]
    alt = np.where(np.arange(frame) % 2 == 0, -128, 127).astype(np.int8)
    extremes = np.stack([np.full(frame, -128, np.int8), np.full(frame, 127, np.int8), alt, np.zeros(frame, np.int8)])
    n_uniform = max(100, N_WINDOWS - len(synthetic) - len(real) - len(extremes))
    uniform = np.random.default_rng(5).integers(-128, 128, size=(n_uniform, frame), dtype=np.int8)
    x = np.concatenate([quantize_input(synthetic, scale, zp), quantize_input(real, scale, zp), uniform, extremes])
    assert len(real) >= 100 and len(x) >= N_WINDOWS
    return x.astype(np.int8)


@pytest.fixture(scope="module")
def references(tiny_model, tiny_export, lsad_sample, tmp_path_factory):
    from hil.export.references import tflite_ref_outputs, tflm_host_outputs

    tflite = tiny_export / "model.tflite"
    x = _windows(tiny_model, tflite, lsad_sample, tmp_path_factory.mktemp("sample-work"))
    return x, tflite_ref_outputs(tflite, x), tflm_host_outputs(tflite, x)


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
