"""Host-side quantisation arithmetic, computed exactly as TFLite's Prepare() does.

The firmware only applies multipliers and shifts; everything that TFLite
derives from float scales (in float32 or float64, as its C++ does) is derived
here, so the generated constants are the ones the reference kernels use.
"""

from __future__ import annotations

import math

import numpy as np

from hil.quant import INT32_MAX, quantize_multiplier, round_half_away


def activation_range(act: int, scale: np.float32, zp: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: bounds quantised with a float32 division."""

    def q(f: float) -> int:
        return zp + round_half_away(float(np.float32(f) / np.float32(scale)))

    if act == 1:      # RELU
        return max(qmin, q(0.0)), qmax
    if act == 2:      # RELU_N1_TO_1
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    if act == 3:      # RELU6
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    return qmin, qmax


def calculate_input_radius(int_bits: int, left_shift: int, total_bits: int = 31) -> int:
    m = 1.0 * ((1 << int_bits) - 1) * (1 << (total_bits - int_bits)) / (1 << left_shift)
    return int(math.floor(m))


def mean_multiplier(in_scale: float, out_scale: float, n: int) -> tuple[int, int]:
    """QuantizedMeanOrSum: the 1/n factor folded into the multiplier in integers."""
    mult, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    s = min((n.bit_length() - 1), 32, 31 + shift)
    mult = int((mult << s) // n) if s >= 0 else int(mult // n)
    return mult, shift - s


def downscale_to_int16(m32: int) -> int:
    if m32 >= INT32_MAX - (1 << 15):
        return 32767
    return (m32 + (1 << 15)) >> 16


def to_int32(v: int) -> int:
    """Wrap like int32 arithmetic does."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v
