"""One call that checks a quantised model: aot (native) == TFLite BUILTIN_REF == TFLM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hil.firmware.aot import AotInfo, generate
from tests.aot import native, references


@dataclass
class Checked:
    info: AotInfo
    x: np.ndarray
    aot: np.ndarray           # generated with fc_rounding="tflite"
    ref: np.ndarray           # TFLite BUILTIN_REF
    tflm: np.ndarray          # TFLM on the host
    aot_tflm: np.ndarray      # generated with fc_rounding="tflm" (same as aot without FULLY_CONNECTED)


def random_inputs(info: AotInfo, n: int, seed: int) -> np.ndarray:
    """Uniform int8 windows plus the extremes (all -128, all 127, alternating); float
    inputs (a QUANTIZE at the model's input) get normal values instead."""
    shape = info.input.shape
    rng = np.random.default_rng(seed)
    if info.input.dtype == "float32":
        return rng.normal(0, 2, (n, *shape[1:])).astype(np.float32).reshape(n, *shape)
    size = int(np.prod(shape))
    alt = np.where(np.arange(size) % 2 == 0, -128, 127).astype(np.int8)
    fixed = np.stack([np.full(size, -128, np.int8), np.full(size, 127, np.int8), alt])
    x = np.concatenate([fixed, rng.integers(-128, 128, (max(n - 3, 1), size), dtype=np.int8)])
    return x.reshape(len(x), *shape)


def check_model(tflite: bytes, work: Path, n: int = 48, seed: int = 0, x: np.ndarray | None = None) -> Checked:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "model.tflite"
    path.write_bytes(tflite)
    info = generate(path, work / "gen")
    if x is None:
        x = random_inputs(info, n, seed)
    aot = native.load(work / "gen", info, work).run(x)
    aot_tflm = aot
    if "FULLY_CONNECTED" in info.ops:
        info_m = generate(path, work / "gen-tflm", fc_rounding="tflm")
        aot_tflm = native.load(work / "gen-tflm", info_m, work).run(x)
    return Checked(info, x, aot, references.tflite_ref(tflite, x), references.tflm_ref(tflite, x), aot_tflm)


def assert_bit_exact(c: Checked) -> None:
    """aot == TFLite BUILTIN_REF, and aot (TFLM rounding for FULLY_CONNECTED) == TFLM, on every input."""
    for name, got, ref in (("TFLite BUILTIN_REF", c.aot, c.ref), ("TFLM", c.aot_tflm, c.tflm)):
        ref = ref.reshape(got.shape)
        bad = np.where(np.any(got != ref, axis=1))[0]
        assert bad.size == 0, (
            f"aot differs from {name} on {bad.size}/{len(got)} inputs (ops {c.info.ops}); first input "
            f"{bad[0]}: aot {got[bad[0]][:16]} vs {ref[bad[0]][:16]}")
