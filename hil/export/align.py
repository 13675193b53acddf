"""Make every int8 MUL requantise identically in TFLite and in TFLM.

TFLite (2.21 / LiteRT) computes a MUL's output multiplier in single precision,
``in1.scale * in2.scale / out.scale`` on floats, then converts it to a Q31
multiplier; TFLM computes the same quotient in double precision.  The two Q31
multipliers usually differ in their low bits, so an output whose exact value
sits within a hair of .5 LSB rounds differently (1 LSB, a few percent of the
windows of a trained model).  Every other op the engines support derives its
multiplier in double precision in both.

The fix changes nothing that matters: each MUL's output scale is moved by a
few float32 ulps (relative change < 1e-4) to a value for which both
computations give the same Q31 multiplier and shift.  The scale is patched in
place in the flatbuffer (same size, same layout), in execution order, so a MUL
reading another MUL's output sees its final scale.
"""

from __future__ import annotations

import struct
from collections import Counter

import numpy as np

from hil.quant import quantize_multiplier
from hil.tflite import Graph, Tensor, read_tflite

MUL = 18  # BuiltinOperator.MUL
# Ops whose int8 output must keep their input's scale: a nudged scale is carried through them.
SAME_SCALE = {1: "AVERAGE_POOL_2D", 17: "MAX_POOL_2D", 22: "RESHAPE"}
MAX_ULPS = 4096  # relative scale change below 5e-4


def tflite_mul_multiplier(s1: float, s2: float, so: float) -> tuple[int, int]:
    """As TFLite's MUL kernel: float arithmetic, then widened to double."""
    f = np.float32(np.float32(s1) * np.float32(s2)) / np.float32(so)
    return quantize_multiplier(float(np.float32(f)))


def tflm_mul_multiplier(s1: float, s2: float, so: float) -> tuple[int, int]:
    """As TFLM's MUL kernel: the quotient in double precision."""
    return quantize_multiplier(float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(so)))


def _candidates(scale: float, max_ulps: int) -> np.ndarray:
    """float32 values around ``scale``, nearest first (0, +1, -1, +2, -2, ... ulps)."""
    base = int(np.array([scale], np.float32).view(np.int32)[0])
    steps = np.arange(max_ulps + 1, dtype=np.int64)
    bits = base + np.stack([steps, -steps], axis=1).reshape(-1)[1:]
    bits = bits[(bits > 0) & (bits < 0x7F800000)]  # positive, finite
    return bits.astype(np.int32).view(np.float32)


def _agree_mask(s1: float, s2: float, so: np.ndarray) -> np.ndarray:
    prod = np.float32(s1) * np.float32(s2)
    real_f = (prod / so).astype(np.float32).astype(np.float64)  # TFLite: float arithmetic
    real_d = float(np.float32(s1)) * float(np.float32(s2)) / so.astype(np.float64)  # TFLM: double
    mf, sf = quantize_multiplier(real_f)
    md, sd = quantize_multiplier(real_d)
    return (mf == md) & (sf == sd)


def agreeing_scale(s1: float, s2: float, so: float, max_ulps: int = MAX_ULPS) -> float | None:
    """The float32 closest to ``so`` for which both multipliers agree (``so`` itself if it already does).

    None when no output scale can make them agree: the float32 product ``s1 * s2`` is then rounded
    too far from the exact one, and only moving ``s1`` or ``s2`` helps (see align_mul_scales).
    """
    cand = _candidates(so, max_ulps)
    hit = np.flatnonzero(_agree_mask(s1, s2, cand))
    return float(cand[hit[0]]) if len(hit) else None


def agreeing_pair(s1: float, s2: float, so: float, s2_ok, max_ulps: int = 4096) -> tuple[float, float] | None:
    """(s2', so') nearest to (s2, so) with agreeing multipliers, s2' restricted to ``s2_ok(candidates) -> mask``."""
    c2 = _candidates(s2, max_ulps)
    for s2n in c2[s2_ok(c2)][:512]:
        so_n = agreeing_scale(s1, float(s2n), so, max_ulps)
        if so_n is not None:
            return float(s2n), so_n
    return None


def _per_tensor(t: Tensor) -> bool:
    return t.scale_offset is not None and len(t.scales) == 1


def align_mul_scales(tflite: bytes) -> tuple[bytes, list[dict]]:
    """The model with each int8 MUL's output scale nudged so TFLite and TFLM agree; and what changed.

    When no output scale works, the MUL's second input is moved too if that is free to move: a
    constant used by this op only, or the output of an earlier MUL (jointly with that MUL's
    agreement).  A MUL that still cannot be aligned is reported with ``aligned: False``.
    """
    g = read_tflite(tflite)
    scale: dict[int, float] = {}  # tensor -> new scale
    producer_mul: dict[int, tuple[int, int]] = {}  # MUL output tensor -> its (input1, input2)
    uses = Counter(t for op in g.operators for t in op.inputs)

    def cur(t: int) -> float:
        return scale.get(t, g.tensors[t].scale)

    changes: list[dict] = []
    for op in g.operators:
        if op.code != MUL:
            continue
        t1, t2, to = op.inputs[0], op.inputs[1], op.outputs[0]
        if not all(_per_tensor(g.tensors[t]) for t in (t1, t2, to)):
            continue  # not per-tensor int8: leave it
        s1, s2, so = cur(t1), cur(t2), cur(to)
        new_so = agreeing_scale(s1, s2, so)
        new_s2 = s2
        if new_so is None:
            pair = None
            if uses[t2] != 1:
                pass  # another op reads this scale too: moving it could break that op
            elif g.tensors[t2].is_const:
                pair = agreeing_pair(s1, s2, so, lambda c: np.ones(len(c), bool))
            elif t2 in producer_mul:
                p1, p2 = producer_mul[t2]
                pair = agreeing_pair(s1, s2, so, lambda c, a=cur(p1), b=cur(p2): _agree_mask(a, b, c))
            if pair is not None:
                new_s2, new_so = pair
        producer_mul[to] = (t1, t2)
        entry = {"op_index": op.index, "tensor": g.tensors[to].name, "aligned": new_so is not None}
        if new_so is None:
            changes.append(entry)
            continue
        if np.float32(new_s2) != np.float32(s2):
            scale[t2] = new_s2
            entry["input2_scale"] = [s2, new_s2]
        if np.float32(new_so) != np.float32(so):
            scale[to] = new_so
            entry["output_scale"] = [so, new_so]
        if len(entry) > 3:
            changes.append(entry)
    buf = bytearray(tflite)
    written: dict[int, float] = {}  # scales as the buffer holds them now: a later carry sees earlier writes
    for t, value in scale.items():
        for carried in _carried(g, t, written):
            struct.pack_into("<f", buf, g.tensors[carried].scale_offset, value)
            written[carried] = float(np.float32(value))
    return bytes(buf), changes


def _carried(g: Graph, tensor: int, written: dict[int, float]) -> list[int]:
    """``tensor`` and the outputs of same-scale ops fed by it (transitively) that carry its scale."""
    scale = written.get(tensor, g.tensors[tensor].scale)
    out, todo = [tensor], [tensor]
    while todo:
        t = todo.pop()
        for op in g.operators:
            if op.code in SAME_SCALE and op.inputs and op.inputs[0] == t:
                o = g.tensors[op.outputs[0]]
                if o.scale_offset is not None and written.get(o.index, o.scale) == scale and o.index not in out:
                    out.append(o.index)
                    todo.append(o.index)
    return out
