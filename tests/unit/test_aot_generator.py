"""The aot generator: refusals, arena planning, generated C (both compilers), engine metadata."""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hil.errors import ConfigError
from hil.firmware.aot import SUPPORTED_OPS, generate
from hil.firmware.aot.lower import lower_op
from hil.firmware.aot.planner import check_plan, plan_arena
from hil.tflite import Graph, Operator, Tensor
from tests.aot import native
from bench.support import qemu_bench
from bench.support.models import quantize, random_rep


def _keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    """RESHAPE -> CONV_2D(relu6) -> DEPTHWISE -> MAX_POOL -> SE (MEAN, CONV, MUL) -> MEAN -> FC."""
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(3)
    inp = keras.Input((64,), batch_size=1)
    x = L.Reshape((1, 64, 1))(inp)
    x = L.Conv2D(6, (1, 5), strides=(1, 2), padding="same", activation="relu6")(x)
    x = L.DepthwiseConv2D((1, 3), padding="same", activation="relu6")(x)
    x = L.MaxPooling2D((1, 2), padding="same")(x)
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = L.Conv2D(6, 1, activation="hard_sigmoid")(s)
    x = L.Multiply()([x, s])
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(3)(x)
    path = tmp_path_factory.mktemp("aot-small") / "model.tflite"
    path.write_bytes(quantize(keras.Model(inp, out), random_rep([(1, 64)], 3)))
    return path


def test_generate_writes_sources_and_info(small_model: Path, tmp_path: Path) -> None:
    info = generate(small_model, tmp_path)
    assert (tmp_path / "model_aot.c").is_file() and (tmp_path / "model_aot.h").is_file()
    assert info.model_sha256 == hashlib.sha256(small_model.read_bytes()).hexdigest()
    assert info.ops[0] == "RESHAPE" and info.ops[-1] == "FULLY_CONNECTED"
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MEAN", "MUL"} <= set(info.ops)
    assert info.input.shape == [1, 64] and info.output.shape == [1, 3]
    assert info.weights_bytes > 6 * 5
    header = (tmp_path / "model_aot.h").read_text()
    assert f"#define AOT_ARENA_BYTES {info.arena_bytes}u" in header
    assert f"#define AOT_NUM_OPS {len(info.ops)}u" in header
    # the arena holds at most the two largest activations at once here (in place pooling/multiply)
    assert info.arena_bytes <= 2 * 32 * 6 + 64


def test_engine_metadata_through_the_seam(small_model: Path, tmp_path: Path) -> None:
    """hil_engine.h answers (name, sha, arena, tensor info, profile) match the model."""
    info = generate(small_model, tmp_path / "gen")
    so = native.build_shared(tmp_path / "gen", tmp_path / "m.so")
    lib = ctypes.CDLL(str(so))

    class TInfo(ctypes.Structure):
        _fields_ = [("dtype", ctypes.c_uint8), ("ndims", ctypes.c_uint8), ("dims", ctypes.c_int32 * 4),
                    ("bytes", ctypes.c_uint32), ("scale", ctypes.c_float), ("zero_point", ctypes.c_int32)]

    class Prof(ctypes.Structure):
        _fields_ = [("op_index", ctypes.c_uint16), ("op_code", ctypes.c_uint16), ("cycles", ctypes.c_uint32)]

    tin, tout, arena = TInfo(), TInfo(), ctypes.c_uint32()
    sha, name = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_char_p()
    lib.aot_test_info(ctypes.byref(tin), ctypes.byref(tout), ctypes.byref(arena), ctypes.byref(sha),
                      ctypes.byref(name))
    assert name.value == b"aot"
    assert bytes(sha[:32]).hex() == info.model_sha256
    assert arena.value == info.arena_bytes
    assert (tin.dtype, tin.ndims, list(tin.dims[:2]), tin.bytes) == (1, 2, [1, 64], 64)
    assert tin.zero_point == info.input.zero_point and tin.scale == pytest.approx(info.input.scale, rel=1e-7)
    assert (tout.ndims, list(tout.dims[:2]), tout.bytes) == (2, [1, 3], 3)

    model = native.NativeModel(so, 64, 3)
    model.run(np.zeros((1, 1, 64), np.int8))
    prof = (Prof * 64)()
    n = lib.aot_test_profile(prof, 64)
    assert n == len(info.ops)
    assert [p.op_index for p in prof[:n]] == list(range(n))
    codes = {"RESHAPE": 22, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4, "MAX_POOL_2D": 17, "MEAN": 40, "MUL": 18,
             "FULLY_CONNECTED": 9}
    assert [p.op_code for p in prof[:n]] == [codes[o] for o in info.ops]
    assert all(p.cycles > 0 for p in prof[:n])           # every op was timed with hil_port_cycles()
    assert lib.aot_test_profile(prof, 2) == n             # writes at most max entries, returns the count


@pytest.mark.parametrize("compiler", ["gcc", "arm-none-eabi-gcc"])
def test_generated_c_compiles_warning_free(small_model: Path, tmp_path: Path, compiler: str) -> None:
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    generate(small_model, tmp_path)
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow"]
    if compiler.startswith("arm"):
        flags += ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
    for src in [*native.KERNELS, tmp_path / "model_aot.c"]:
        res = subprocess.run([compiler, *flags, f"-I{native.ENGINE}", f"-I{native.INCLUDE}", f"-I{tmp_path}", "-c",
                              str(src), "-o", str(tmp_path / (src.stem + ".o"))], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr


def test_refuses_unsupported_op_naming_op_and_tensor(tmp_path: Path) -> None:
    keras = _keras()
    inp = keras.Input((16,), batch_size=1)
    out = keras.layers.Activation("tanh")(keras.layers.Dense(8)(inp))
    path = tmp_path / "tanh.tflite"
    path.write_bytes(quantize(keras.Model(inp, out), random_rep([(1, 16)], 0)))
    with pytest.raises(ConfigError, match=r"op 1 TANH.*tensor \d+ '.*' int8\[1, 8\].*not supported"):
        generate(path, tmp_path / "gen")
    assert not (tmp_path / "gen" / "model_aot.c").exists()


def test_refuses_batch_above_one(tmp_path: Path) -> None:
    keras = _keras()
    inp = keras.Input((4, 8, 2), batch_size=2)
    out = keras.layers.Conv2D(3, 3, padding="same")(inp)
    path = tmp_path / "b2.tflite"
    path.write_bytes(quantize(keras.Model(inp, out), random_rep([(2, 4, 8, 2)], 0)))
    with pytest.raises(ConfigError, match=r"op 0 CONV_2D.*batch 2 not supported"):
        generate(path, tmp_path / "gen")


def _tensor(i: int, shape, type_=9, data=None, scales=(0.1,), zps=(0,)) -> Tensor:
    return Tensor(i, f"t{i}", tuple(shape), type_, data, np.array(scales, np.float32), np.array(zps, np.int64), 0)


def test_refuses_unsupported_fused_activation() -> None:
    x = _tensor(0, (1, 1, 8, 2))
    w = _tensor(1, (3, 1, 1, 2), data=np.ones((3, 1, 1, 2), np.int8), scales=(0.1, 0.1, 0.1), zps=(0, 0, 0))
    y = _tensor(2, (1, 1, 8, 3))
    opts = SimpleNamespace(Padding=lambda: 0, StrideH=lambda: 1, StrideW=lambda: 1, DilationHFactor=lambda: 1,
                           DilationWFactor=lambda: 1, FusedActivationFunction=lambda: 4)   # TANH
    g = Graph([x, w, y], [Operator(0, "CONV_2D", 3, [0, 1, -1], [2], opts)], [0], [2])
    with pytest.raises(ConfigError, match=r"op 0 CONV_2D, tensor 2 't2'.*fused activation TANH not supported"):
        lower_op(g, g.operators[0])


def test_refuses_int16_activations() -> None:
    x = _tensor(0, (1, 8), type_=7)
    y = _tensor(1, (1, 8), type_=7)
    g = Graph([x, y], [Operator(0, "LOGISTIC", 14, [0], [1], None)], [0], [1])
    with pytest.raises(ConfigError, match=r"op 0 LOGISTIC, tensor 0 't0' int16\[1, 8\]: type int16 not supported"):
        lower_op(g, g.operators[0])


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model file not found"):
        generate(tmp_path / "nope.tflite", tmp_path / "gen")


def test_supported_ops_cover_the_brief() -> None:
    assert set(SUPPORTED_OPS) == {
        "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MEAN", "MUL", "FULLY_CONNECTED", "RESHAPE", "ADD",
        "AVERAGE_POOL_2D", "LOGISTIC", "HARD_SWISH", "SOFTMAX", "QUANTIZE", "DEQUANTIZE"}


# ---- arena planner ----

def test_planner_reuses_memory_of_dead_tensors() -> None:
    # chain a -> b -> c -> d: a and c can share, b and d can share
    sizes = {0: 100, 1: 100, 2: 100, 3: 100}
    op_io = [([0], [1]), ([1], [2]), ([2], [3])]
    plan = plan_arena(sizes, op_io, [0], [3], {}, {})
    check_plan(plan)
    assert plan.arena_bytes == 200
    assert plan.offsets[0] == plan.offsets[2] and plan.offsets[1] == plan.offsets[3]


def test_planner_keeps_tensors_alive_until_their_last_use() -> None:
    # a is used again by the last op (a skip connection): it must not be overwritten
    sizes = {0: 64, 1: 64, 2: 64, 3: 64}
    op_io = [([0], [1]), ([1], [2]), ([2, 0], [3])]
    plan = plan_arena(sizes, op_io, [0], [3], {}, {})
    check_plan(plan)
    assert len({plan.offsets[0], plan.offsets[1]}) == 2
    assert len({plan.offsets[0], plan.offsets[2], plan.offsets[3]}) == 3


def test_planner_aliases_and_in_place() -> None:
    # t0 --RESHAPE--> t1 --CONV--> t2 --POOL(in place)--> t3 --MUL(t3, t4 small)--> t5
    sizes = {0: 80, 1: 80, 2: 160, 3: 80, 4: 8, 5: 80}
    op_io = [([0], [1]), ([1], [2]), ([2], [3]), ([3], [4]), ([3, 4], [5])]
    plan = plan_arena(sizes, op_io, [0], [5], aliases={1: 0}, inplace_candidates={2: (2, 3), 4: (3, 5)})
    check_plan(plan)
    assert plan.offsets[0] == plan.offsets[1]
    assert plan.offsets[2] == plan.offsets[3] == plan.offsets[5]
    assert plan.arena_bytes == 160 + 80       # t4 reuses the dead input (t0/t1)


def test_planner_refuses_in_place_when_input_lives_on() -> None:
    sizes = {0: 32, 1: 32, 2: 32}
    op_io = [([0], [1]), ([0, 1], [2])]          # op 0's input is read again by op 1
    plan = plan_arena(sizes, op_io, [0], [2], {}, {0: (0, 1)})
    check_plan(plan)
    assert plan.offsets[0] != plan.offsets[1]


def test_fast_fixed_point_forms_match_reference(tmp_path: Path) -> None:
    """tests/aot/test_fixedpoint.c: aot_requant == srdhm + rdbpot over all shifts, edge and random values."""
    exe = tmp_path / "test_fixedpoint"
    here = Path(native.__file__).parent
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{native.ENGINE}",
                    f"-I{qemu_bench.HERE}",  # fixedpoint_check.h, shared with the QEMU harness
                    str(here / "test_fixedpoint.c"), "-o", str(exe)], check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout
    assert " 0 mismatches" in res.stdout
