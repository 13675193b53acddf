"""The seed network through the aot engine: >= 1,000 windows bit-exact natively, and on QEMU.

The seed architecture (EfficientNetV2-style 1-D network, 32,192 parameters)
is built here with data-dependent BatchNorm statistics so its outputs vary
with the input like a trained model's; ``test_tiny_export_*`` runs the model
helper's briefly trained export too. Windows mix real-ish signals (beats,
sines, steps, coloured noise), uniform random int8 and the extremes.

TFLite's BUILTIN_REF and TFLM round FULLY_CONNECTED differently (see
docs/aot.md), so the engine is generated twice: fc_rounding="tflite" must equal
TFLite on every window, fc_rounding="tflm" must equal TFLM on every window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hil.firmware.aot import AotInfo, generate
from bench.support import qemu_bench, signals
from bench.support.models import quantize, seed_model
from tests.aot import native, references

pytestmark = pytest.mark.slow

N_REALISH, N_UNIFORM = 640, 360            # + 5 extremes = 1,005 windows


@dataclass
class Seed:
    tflite: Path
    info: AotInfo
    gen: Path
    gen_tflm: Path
    x: np.ndarray


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Seed:
    work = tmp_path_factory.mktemp("aot-seed")
    cal = signals.realish(64, 800, seed=5)
    model = seed_model(data=cal, seed=0)
    assert model.count_params() == 32192
    path = work / "model.tflite"
    path.write_bytes(quantize(model, lambda: ([c[None]] for c in cal)))
    info = generate(path, work / "gen")
    generate(path, work / "gen-tflm", fc_rounding="tflm")
    s, zp = info.input.scale, info.input.zero_point
    x = np.concatenate([signals.extremes(800), signals.quantize(signals.realish(N_REALISH, 800, seed=11), s, zp),
                        signals.uniform(N_UNIFORM, 800, seed=12)])
    return Seed(path, info, work / "gen", work / "gen-tflm", x)


def test_seed_model_ops_and_memory(seed: Seed) -> None:
    assert set(seed.info.ops) == {"RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MEAN", "MUL",
                                  "FULLY_CONNECTED"}
    assert seed.info.arena_bytes <= 34_056          # TFLM's arena for the same model (issue goal)


def test_seed_model_bit_exact_1000_windows(seed: Seed, tmp_path: Path) -> None:
    x = seed.x
    assert len(x) >= 1000
    aot = native.load(seed.gen, seed.info, tmp_path).run(x)
    aot_tflm = native.load(seed.gen_tflm, seed.info, tmp_path).run(x)
    blob = seed.tflite.read_bytes()
    ref = references.tflite_ref(blob, x)
    tflm = references.tflm_ref(blob, x)
    assert len({row.tobytes() for row in ref}) > len(x) // 2, "degenerate model: outputs barely vary"
    bad = np.where((aot != ref).any(axis=1))[0]
    assert bad.size == 0, f"aot != TFLite BUILTIN_REF on windows {bad[:10]}"
    bad = np.where((aot_tflm != tflm).any(axis=1))[0]
    assert bad.size == 0, f"aot (fc_rounding=tflm) != TFLM on windows {bad[:10]}"


def test_seed_model_clean_under_sanitizers(seed: Seed, tmp_path: Path) -> None:
    """AddressSanitizer + UndefinedBehaviorSanitizer over the kernels on extremes and random windows."""
    exe = native.build_filter(seed.gen, tmp_path / "aot_filter")
    x = np.concatenate([seed.x[:5], seed.x[5:25], seed.x[-20:]])
    out = native.run_filter(exe, x, seed.info.output.bytes)
    assert np.array_equal(out, references.tflite_ref(seed.tflite.read_bytes(), x))


def _general_requant_copy(gen: Path, out: Path) -> Path:
    """The generated model with the small-accumulator requantisation turned off everywhere."""
    import shutil

    shutil.copytree(gen, out)
    src = (out / "model_aot.c").read_text()
    assert ".small_acc = 1" in src
    (out / "model_aot.c").write_text(src.replace(".small_acc = 1", ".small_acc = 0"))
    return out


def test_general_requant_path_same_outputs(seed: Seed, tmp_path: Path) -> None:
    """The requantisation used when no small-accumulator bound is proven gives the same outputs."""
    gen = _general_requant_copy(seed.gen, tmp_path / "gen-general")
    x = np.concatenate([seed.x[:105], seed.x[-100:]])
    got = native.load(gen, seed.info, tmp_path).run(x)
    assert np.array_equal(got, references.tflite_ref(seed.tflite.read_bytes(), x))


@pytest.mark.qemu
def test_seed_model_bit_exact_on_cortex_m4(seed: Seed, tmp_path: Path) -> None:
    """The DSP (SMLAD/SXTB16/SEL/SMMULR) kernels on QEMU mps2-an386 give the reference outputs too,
    and the fast fixed-point forms agree with the reference forms there (fixedpoint_check.h)."""
    if not qemu_bench.tools_available():
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    x = np.concatenate([seed.x[:5], seed.x[5:45], seed.x[-40:]])     # extremes, real-ish, uniform
    r = qemu_bench.measure(seed.gen, tmp_path, windows=x, fixedpoint=True)
    assert r.fixedpoint is not None and r.fixedpoint[0] > 400_000 and r.fixedpoint[1] == 0, r.fixedpoint
    ref = references.tflite_ref(seed.tflite.read_bytes(), x)
    assert np.array_equal(np.array(r.windows, np.int8), ref)
    assert r.arena_bytes == seed.info.arena_bytes
    assert 0 < r.instructions <= 7_280_000          # TFLM + CMSIS-NN on the same model: 7.28 M
    assert len(r.op_ticks) == len(seed.info.ops)
    general = qemu_bench.measure(_general_requant_copy(seed.gen, tmp_path / "gen-general"), tmp_path / "general",
                                 windows=x)
    assert np.array_equal(np.array(general.windows, np.int8), ref)


def test_tiny_export_bit_exact(tiny_model, tmp_path: Path) -> None:
    """The model helper's trained, exported seed model on its own (synthetic LSAD) windows."""
    tflite = Path(tiny_model.export_dir) / "model.tflite"
    info = generate(tflite, tmp_path / "gen")
    generate(tflite, tmp_path / "gen-tflm", fc_rounding="tflm")
    w = tiny_model.dataset.windows("all", limit=300)
    xq = signals.quantize(np.asarray(w.x, np.float32), info.input.scale, info.input.zero_point)
    x = np.concatenate([signals.extremes(xq.shape[1]), xq, signals.uniform(50, xq.shape[1], seed=3)])
    blob = tflite.read_bytes()
    aot = native.load(tmp_path / "gen", info, tmp_path).run(x)
    aot_tflm = native.load(tmp_path / "gen-tflm", info, tmp_path).run(x)
    assert np.array_equal(aot, references.tflite_ref(blob, x))
    assert np.array_equal(aot_tflm, references.tflm_ref(blob, x))
