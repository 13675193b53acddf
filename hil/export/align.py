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

import numpy as np

from hil.quant import quantize_multiplier

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


def _scale_slot(tensor) -> tuple[int, float, int] | None:
    """(byte offset of the first scale, scale, number of scales) of a tensor's quantisation, if any."""
    q = tensor.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    o = q._tab.Offset(8)  # QuantizationParameters.scale
    return q._tab.Vector(o), float(q.Scale(0)), q.ScaleLength()


def align_mul_scales(tflite: bytes) -> tuple[bytes, list[dict]]:
    """The model with each int8 MUL's output scale nudged so TFLite and TFLM agree; and what changed.

    When no output scale works, the MUL's second input is moved too if that is free to move: a
    constant used by this op only, or the output of an earlier MUL (jointly with that MUL's
    agreement).  A MUL that still cannot be aligned is reported with ``aligned: False``.
    """
    from tensorflow.lite.python import schema_py_generated as schema

    buf = bytearray(tflite)
    model = schema.Model.GetRootAsModel(buf, 0)
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    sg = model.Subgraphs(0)
    scale: dict[int, float] = {}  # tensor -> new scale
    producer_mul: dict[int, tuple[int, int]] = {}  # MUL output tensor -> its (input1, input2)
    uses: dict[int, int] = {}
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        for i in range(op.InputsLength()):
            uses[op.Inputs(i)] = uses.get(op.Inputs(i), 0) + 1

    def cur(t: int) -> float:
        slot = _scale_slot(sg.Tensors(t))
        assert slot is not None
        return scale.get(t, slot[1])

    changes: list[dict] = []
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        if codes[op.OpcodeIndex()] != MUL:
            continue
        t1, t2, to = op.Inputs(0), op.Inputs(1), op.Outputs(0)
        slots = [_scale_slot(sg.Tensors(t)) for t in (t1, t2, to)]
        if any(sl is None or sl[2] != 1 for sl in slots):
            continue  # not per-tensor int8: leave it
        s1, s2, so = cur(t1), cur(t2), cur(to)
        new_so = agreeing_scale(s1, s2, so)
        new_s2 = s2
        if new_so is None:
            pair = None
            constant = sg.Tensors(t2).Buffer() > 0 and model.Buffers(sg.Tensors(t2).Buffer()).DataLength() > 0
            if uses.get(t2) != 1:
                pass  # another op reads this scale too: moving it could break that op
            elif constant:
                pair = agreeing_pair(s1, s2, so, lambda c: np.ones(len(c), bool))
            elif t2 in producer_mul:
                p1, p2 = producer_mul[t2]
                pair = agreeing_pair(s1, s2, so, lambda c, a=cur(p1), b=cur(p2): _agree_mask(a, b, c))
            if pair is not None:
                new_s2, new_so = pair
        producer_mul[to] = (t1, t2)
        entry = {"op_index": k, "tensor": sg.Tensors(to).Name().decode(), "aligned": new_so is not None}
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
    for t, value in scale.items():
        old = _scale_slot(sg.Tensors(t))
        assert old is not None
        for carried in _carried(sg, codes, t, old[1]):
            slot = _scale_slot(sg.Tensors(carried))
            assert slot is not None
            struct.pack_into("<f", buf, slot[0], value)
    return bytes(buf), changes


def _carried(sg, codes: list[int], tensor: int, scale: float) -> list[int]:
    """``tensor`` and the outputs of same-scale ops fed by it (transitively) that carry ``scale``."""
    out, todo = [tensor], [tensor]
    while todo:
        t = todo.pop()
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            if codes[op.OpcodeIndex()] in SAME_SCALE and op.InputsLength() and op.Inputs(0) == t:
                slot = _scale_slot(sg.Tensors(op.Outputs(0)))
                if slot is not None and slot[1] == scale and op.Outputs(0) not in out:
                    out.append(op.Outputs(0))
                    todo.append(op.Outputs(0))
    return out
