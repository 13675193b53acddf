"""int8 quantisation arithmetic as TFLite defines it, shared by the export, the aot generator and scoring.

Pure numpy (no TensorFlow import), so generating C for the aot engine stays light.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MAX = 2**31 - 1


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real):
    """TFLite's QuantizeMultiplier: ``real = q * 2^(shift - 31)`` with q a Q31 in [2^30, 2^31).

    A float gives Python ints ``(q, shift)``; an array gives arrays, element by element (the MUL
    alignment searches thousands of candidate scales at once).  ``q * 2^31`` is exact in double,
    so the rounding (half away from zero, as TfLiteRound) is the only one, as in C++.  A shift
    below -31 flushes to (0, 0) as TFLite does.  A shift above 30 saturates to (INT32_MAX, 30):
    TFLite does that only when built with TFLITE_SINGLE_ROUNDING (not the default, nor the
    pinned TFLM), but a multiplier >= 2^30 overflows the default kernels' left shift anyway,
    so no model both run reaches it; the bound keeps the aot kernels' int8 shifts and C shifts
    defined.  Every multiplier below 2^30 gives TFLite's exact bits.
    """
    r = np.asarray(real, np.float64)
    q, shift = np.frexp(r)
    m = (np.sign(q) * np.floor(np.abs(q) * float(1 << 31) + 0.5)).astype(np.int64)
    top = m == (1 << 31)
    m, shift = np.where(top, m // 2, m), np.where(top, shift + 1, shift).astype(np.int64)
    tiny, huge = shift < -31, shift > 30
    m, shift = np.where(tiny, 0, np.where(huge, INT32_MAX, m)), np.where(tiny, 0, np.where(huge, 30, shift))
    if r.ndim == 0:
        return int(m), int(shift)
    return m, shift


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Real values of int8 outputs, as TFLite defines them: (q - zp) * scale.

    In float64: an int8 difference times a float32 scale needs at most 9 + 24 significant bits,
    so the product is exact and the metrics never depend on a rounding; float32 would round it
    (and TFLite's and TFLM's logits compare bit for bit anyway).
    """
    return (np.asarray(q, np.float64) - zero_point) * scale
