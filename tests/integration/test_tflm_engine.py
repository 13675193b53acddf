"""The ``tflm`` engine: the model sources hil.firmware.tflm_gen writes, the
configure-time error without a TFLM tree, and (with HIL_TFLM_ROOT set; in CI
always, see tests/trees.py) the real
TFLM image of ``tiny_export`` on QEMU mps2-an386 with each kernel set, bit-exact with TFLite
(BUILTIN_REF) and TFLM on the host on >= 1,000 windows (tests/fixtures/windows.py: the four real
LSAD sample records among them), with PROFILE and INFO from the interpreter.

    HIL_TFLM_ROOT=/path/to/tflite-micro [HIL_CMSIS_NN_ROOT=...] .venv/bin/pytest tests/integration/test_tflm_engine.py -q
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hil.errors import ConfigError
from hil.firmware import tflm_gen

pytestmark = pytest.mark.slow  # the generator fixture trains and exports tiny_export, and probes TFLM

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
TOOLCHAIN = FIRMWARE / "cmake" / "arm-none-eabi.cmake"


needs_tflm = pytest.mark.needs_tree("tflm")  # skips without HIL_TFLM_ROOT; fails with HIL_REQUIRE_TREES=1


# --- generator (no TFLM tree needed) -------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tiny_export, tmp_path_factory):
    out = tmp_path_factory.mktemp("tflm-model")
    return tflm_gen.generate(tiny_export / "model.tflite", out), out


def test_generated_resolver_holds_exactly_the_models_ops(generated, tiny_export):
    from hil.export.tflite_info import read_ops

    info, out = generated
    ops = read_ops(tiny_export / "model.tflite")
    assert info.ops == ops
    calls = re.findall(r"r\.(Add\w+)\(\)", (out / "tflm_ops.cc").read_text())
    assert calls == [tflm_gen.RESOLVER_METHODS[o] for o in dict.fromkeys(ops)]
    assert len(calls) == len(set(ops))
    header = (out / "hil_tflm_model.h").read_text()
    assert f"#define HIL_TFLM_OPERATORS {len(ops)}u" in header
    assert f"#define HIL_TFLM_RESOLVER_OPS {len(calls)}u" in header


def test_generated_op_codes_and_sha_match_the_flatbuffer(generated, tiny_export):
    from tensorflow.lite.python import schema_py_generated as schema

    info, out = generated
    codes_text = re.search(r"hil_tflm_op_codes\[HIL_TFLM_OPERATORS\] = \{(.*?)\};", (out / "tflm_ops.cc").read_text(), re.S)
    codes = [int(c) for c in codes_text.group(1).replace("\n", " ").split(",") if c.strip()]
    assert codes == [getattr(schema.BuiltinOperator, o) for o in info.ops]
    sha = hashlib.sha256((tiny_export / "model.tflite").read_bytes()).digest()
    init = re.search(r"HIL_TFLM_MODEL_SHA256_INIT \{(.*?)\}", (out / "hil_tflm_model.h").read_text()).group(1)
    assert bytes(int(b, 16) for b in init.split(",")) == sha


def test_model_comes_from_the_exports_c_header(generated, tiny_export):
    info, out = generated
    manifest = json.loads((tiny_export / "manifest.json").read_text())["outputs"]
    assert info.header == manifest["header"] and info.var_name == manifest["var_name"]
    assert (out / info.header).read_bytes() == (tiny_export / manifest["header"]).read_bytes()
    data_cc = (out / "tflm_model_data.cc").read_text()
    assert f'#include "{info.header}"' in data_cc and f"return {info.var_name};" in data_cc


def test_header_is_rendered_when_the_tflite_has_no_export_next_to_it(tiny_export, tmp_path):
    from tests.c_header import read_header_defines

    lone = tmp_path / "in" / "model.tflite"
    lone.parent.mkdir()
    lone.write_bytes((tiny_export / "model.tflite").read_bytes())
    info = tflm_gen.generate(lone, tmp_path / "out", arena_bytes=65536)
    assert info.var_name == tflm_gen.DEFAULT_VAR_NAME and info.arena_bytes == 65536
    defines = read_header_defines(tmp_path / "out" / info.header)
    assert defines[f"{info.var_name.upper()}_SHA256"].strip('"') == hashlib.sha256(lone.read_bytes()).hexdigest()
    assert "#define HIL_TFLM_ARENA_BYTES 65536u" in (tmp_path / "out" / "hil_tflm_model.h").read_text()


def test_arena_is_sized_from_the_model_with_margin(generated, tiny_export):
    info, _ = generated
    assert info.host_arena_bytes > 0
    assert info.arena_bytes == tflm_gen.arena_with_margin(info.host_arena_bytes)
    assert info.arena_bytes > info.host_arena_bytes and info.arena_bytes % tflm_gen.ARENA_ALIGN == 0


def test_diagnosis_sources_keep_every_tensor_and_the_run_sources_do_not(generated, tiny_export, tmp_path):
    info, out = generated
    assert "PRESERVE_ALL" not in (out / "hil_tflm_model.h").read_text()  # the run's image: as before
    dump = tflm_gen.generate(tiny_export / "model.tflite", tmp_path, preserve_all=True)
    header = (tmp_path / "hil_tflm_model.h").read_text()
    assert "#define HIL_TFLM_PRESERVE_ALL 1" in header and "#define HIL_TFLM_INPUT_BYTES 800u" in header
    # No arena reuse: the host's TFLM needs more with every tensor kept, and the image gets that plus margin.
    assert dump.host_arena_bytes > info.host_arena_bytes
    assert dump.arena_bytes == tflm_gen.arena_with_margin(dump.host_arena_bytes)
    assert f"#define HIL_TFLM_ARENA_BYTES {dump.arena_bytes}u" in header
    assert (tmp_path / "tflm_ops.cc").read_text() == (out / "tflm_ops.cc").read_text()


def test_fault_switch_wraps_the_resolver_only_when_set(generated):
    _, out = generated
    ops_cc = (out / "tflm_ops.cc").read_text()
    assert ops_cc.count("#ifdef HIL_FAULT_OP_CODE") == 2 and "return hil_fault_wrap(r);" in ops_cc


def test_unknown_op_is_refused_with_its_name():
    with pytest.raises(ConfigError, match="NOT_AN_OP"):
        tflm_gen.resolver_calls(["CONV_2D", "NOT_AN_OP"], "model.tflite")


def test_configure_fails_clearly_without_a_tflm_tree(tmp_path, generated):
    _, model_dir = generated
    env = {k: v for k, v in os.environ.items() if k != "HIL_TFLM_ROOT"}
    r = subprocess.run(
        ["cmake", "-S", str(FIRMWARE), "-B", str(tmp_path / "b"), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
         "-DHIL_PORT=qemu_mps2", "-DHIL_ENGINE=tflm", f"-DHIL_MODEL_DIR={model_dir}"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode != 0
    assert "HIL_TFLM_ROOT" in text and "hil deps tflm" in text


# --- the real image on QEMU (needs HIL_TFLM_ROOT) -------------------------------------------


# Both kernel sets, each image built once for the module (CMSIS-NN is what apollo4 ships, reference is
# TFLM's portable baseline); every test below runs on each.
@pytest.fixture(scope="module", params=["cmsis-nn", "reference"])
def tflm_qemu_firmware(request, tiny_export):
    from hil.artifacts import ArtifactPaths
    from hil.config import load_board, load_model_config
    from hil.firmware.build import build_firmware

    board = load_board("qemu-m4", REPO / "boards.yaml")
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    paths = ArtifactPaths(tiny_export.parent.parent, tiny_export.parent.name)
    return build_firmware(board, cfg, paths, "tflm", kernels=request.param), board


@pytest.fixture(scope="module")
def tflm_device(tflm_qemu_firmware, tmp_path_factory):
    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from hil.device.qemu import QemuInstance

    folder, board = tflm_qemu_firmware
    with QemuInstance(folder / "hil.elf", board.flasher, tmp_path_factory.mktemp("tflm-qemu") / "qemu.log") as q:
        link = open_link(q.url, board.link.baud, None)
        client = DeviceClient(link, timeout_s=30, retries=1, inflight=2, board="qemu-m4")
        try:
            yield q, client, board
        finally:
            link.close()


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def test_image_size_report(tflm_qemu_firmware):
    folder, board = tflm_qemu_firmware
    size = json.loads((folder / "size.json").read_text())
    assert size["engine"] == "tflm" and size["port"] == "qemu_mps2"
    assert folder.name == f"qemu-m4-tflm-{size['kernels']}"  # a kernel set never reuses the other's image
    assert size["tflm_commit"]  # the tree's commit, recorded with the image
    # the image links the cached TFLM library of its kernel set, compiled from TFLM's lists for that set
    lib = Path(size["tflm_lib"])
    assert f"library {lib}/libtflm.a" in " ".join((folder / "build.log").read_text().split())
    listed = (lib / "tflm-sources.txt").read_text()
    assert ("/micro/kernels/cmsis_nn/" in listed) == ("/cmsis_nn/Source/" in listed) == (size["kernels"] == "cmsis-nn")
    assert size["model_bytes"] < size["flash_bytes"] <= board.memory.flash_bytes
    assert size["arena_bytes"] > 0


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def test_info_names_tflm_and_the_model(tflm_device, tflm_qemu_firmware, tiny_export):
    q, client, _ = tflm_device
    info = client.hello()
    kernels = json.loads((tflm_qemu_firmware[0] / "size.json").read_text())["kernels"]
    assert f"engine=tflm/{kernels}" in q.banner
    assert info.engine == "tflm" and info.kernels == kernels and info.board == "qemu-m4"
    assert info.model_sha256 == hashlib.sha256((tiny_export / "model.tflite").read_bytes()).hexdigest()
    # arena_used_bytes() of the interpreter: real, and within the static arena sized on the host
    size_arena = json.loads((tflm_qemu_firmware[0] / "size.json").read_text())["arena_bytes"]
    assert 0 < info.arena_bytes <= size_arena
    assert info.input.dtype == "int8" and info.input.bytes == 800 and info.output.bytes == 4


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def _stream_on_two_instances(tflm_device, elf: Path, x: np.ndarray, log_dir: Path) -> list:
    """The windows shared between the module's QEMU and a second one booted from the same image (one core
    each: the emulation, not the link, bounds this test), every result back under its window's index."""
    from concurrent.futures import ThreadPoolExecutor

    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from hil.device.qemu import QemuInstance

    _, client, board = tflm_device
    half = len(x) // 2
    with QemuInstance(elf, board.flasher, log_dir / "qemu-second.log") as q:
        link = open_link(q.url, board.link.baud, None)
        second = DeviceClient(link, timeout_s=30, retries=1, inflight=2, board="qemu-m4#1")
        try:
            with ThreadPoolExecutor(2) as pool:
                first = pool.submit(lambda: list(client.infer_stream(enumerate(x[:half]))))
                rest = pool.submit(lambda: list(second.infer_stream((half + i, w) for i, w in enumerate(x[half:]))))
                return first.result() + rest.result()
        finally:
            link.close()


def test_outputs_bit_exact_with_tflite_ref_and_tflm_host(tflm_device, tflm_qemu_firmware, bit_exact_set, tmp_path):
    """Issue 10: each kernel set on >= 1,000 windows (the four real records among them), bit for bit."""
    x = bit_exact_set.x
    results = sorted(_stream_on_two_instances(tflm_device, tflm_qemu_firmware[0] / "hil.elf", x, tmp_path),
                     key=lambda r: r.index)
    assert [r.index for r in results] == list(range(len(x))) and len(x) >= 1000
    got = np.stack([r.outputs for r in results]).astype(np.int8)
    for name, ref in (("TFLite BUILTIN_REF", bit_exact_set.tflite), ("TFLM on the host", bit_exact_set.tflm_host)):
        mismatch = np.flatnonzero((got != ref).any(axis=1))
        assert mismatch.size == 0, f"{mismatch.size}/{len(x)} windows differ from {name}, first {mismatch[:5]}"
    real = bit_exact_set.real
    assert np.array_equal(got[real], bit_exact_set.tflite[real]) and len(bit_exact_set.real_records) == 4
    assert len(np.unique(got[real], axis=0)) > 1  # the real records give varied outputs, not one constant
    assert all(r.cycles > 0 for r in results)


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def test_profile_covers_every_operator(tflm_device, tiny_export):
    from hil.export.tflite_info import read_ops

    _, client, _ = tflm_device
    b = client.bench_result(2)
    assert b.max_ticks - b.min_ticks <= 1  # icount: deterministic
    ops = client.profile()
    assert [o.op_name for o in ops] == read_ops(tiny_export / "model.tflite")
    assert [o.op_index for o in ops] == list(range(len(ops)))
    total = sum(o.ticks for o in ops)
    # every op is timed inside the invoke; the rest is the interpreter's loop
    assert 0.9 * b.min_ticks <= total <= b.max_ticks
    assert all(o.ticks > 0 for o in ops if o.op_name in ("CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED"))


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def test_profile_section_one_entry_per_op_and_totals_within_overhead(tflm_device, bit_exact_set, tiny_export):
    """The report's profile on tflm: every op once, positive counts, MicroProfiler's sum within the bound."""
    from hil.scoring import profile as profile_mod
    from hil.tflite import read_tflite

    _, client, board = tflm_device
    tflite = tiny_export / "model.tflite"
    g = read_tflite(tflite)
    raw = profile_mod.collect(client, bit_exact_set.x[4:7], "tflm")
    sec = profile_mod.section(raw, tflite, board)
    assert sec["unit"] == "qemu_instructions" and sec["invokes"] == 3
    assert [o["index"] for o in sec["ops"]] == list(range(len(g.operators)))
    assert [o["op"] for o in sec["ops"]] == g.op_names
    assert [o["output"] for o in sec["ops"]] == [g.tensors[op.outputs[0]].name for op in g.operators]
    # TFLM invokes every kernel, RESHAPE included (it copies): no op is free.
    assert all(o["counts"] > 0 for o in sec["ops"])
    assert sum(t["ops"] for t in sec["by_type"]) == len(g.operators)
    # The interpreter's loop between ops is no op's: the total stays under the invoke, by the overhead only.
    assert 0 < sec["total"] <= sec["invoke"] * 1.001
    assert 0 <= sec["overhead_share"] <= profile_mod.OVERHEAD_BOUND
