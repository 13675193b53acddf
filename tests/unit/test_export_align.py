"""MUL scale alignment: TFLite (float32 multiplier) and TFLM (double) requantise a MUL identically after it."""

from __future__ import annotations

import numpy as np
import pytest

from hil.export.align import agreeing_pair, agreeing_scale, align_mul_scales, quantize_multiplier, tflite_mul_multiplier, tflm_mul_multiplier


def test_quantize_multiplier_like_tflite():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, shift = quantize_multiplier(0.0078)
    assert (1 << 30) <= m < (1 << 31) and m * 2.0 ** (shift - 31) == pytest.approx(0.0078, rel=1e-9)


def test_agreeing_scales_are_close_and_agree():
    rng = np.random.default_rng(0)
    moved = paired = 0
    for _ in range(200):
        s1, s2, so = (float(np.float32(v)) for v in rng.uniform(1e-3, 5e-2, 3))
        before = tflite_mul_multiplier(s1, s2, so) == tflm_mul_multiplier(s1, s2, so)
        new = agreeing_scale(s1, s2, so)
        if new is None:  # the float32 product of the input scales is off: move input 2 as well
            pair = agreeing_pair(s1, s2, so, lambda c: np.ones(len(c), bool))
            assert pair is not None
            s2, new = pair
            paired += 1
        assert abs(new - so) / so < 1e-3
        assert tflite_mul_multiplier(s1, s2, new) == tflm_mul_multiplier(s1, s2, new)
        if before:
            assert new == so  # already agreeing: untouched
        else:
            moved += 1
    assert moved > 100 and 0 < paired < moved  # the float32 and double multipliers usually differ


@pytest.mark.slow
def test_broadcast_mul_references_agree_only_after_alignment(tmp_path):
    import keras

    from hil.export.quantize import convert_int8
    from hil.export.references import tflite_ref_outputs, tflm_host_outputs
    from hil.export.tflite_info import read_ops

    inp = keras.Input((256,), batch_size=1)
    a = keras.layers.Reshape((16, 16))(inp)
    gate = keras.layers.Cropping1D((0, 15))(a)  # [1, 1, 16]: broadcast over rows, like squeeze-excite
    model = keras.Model(inp, keras.layers.Reshape((256,))(keras.layers.Multiply()([a, gate])))
    rng = np.random.default_rng(0)
    calib = rng.uniform(-1, 1, (32, 256)).astype(np.float32)
    x = rng.integers(-128, 128, (200, 256)).astype(np.int8)
    raw = tmp_path / "raw.tflite"
    raw.write_bytes(convert_int8(model, calib, align=False))
    assert "MUL" in read_ops(raw)
    assert not np.array_equal(tflite_ref_outputs(raw, x), tflm_host_outputs(raw, x))
    aligned, changes = align_mul_scales(raw.read_bytes())
    assert len(aligned) == raw.stat().st_size and len(changes) == 1 and changes[0]["aligned"]
    before, after = changes[0]["output_scale"]
    assert abs(after / before - 1) < 1e-3
    fixed = tmp_path / "aligned.tflite"
    fixed.write_bytes(aligned)
    np.testing.assert_array_equal(tflite_ref_outputs(fixed, x), tflm_host_outputs(fixed, x))
