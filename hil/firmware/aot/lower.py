"""Lowers each TFLite operator to a kernel call with a host-computed parameter block.

Every check that can refuse a model lives here, with a message naming the
operator (index and name) and the tensor at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hil.errors import ConfigError
from hil.firmware.aot import quant
from hil.tflite import Graph, Operator, Tensor

INT8, INT32, FLOAT32 = 9, 2, 0
SUPPORTED_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}

SUPPORTED_OPS = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "MUL", "ADD",
    "FULLY_CONNECTED", "RESHAPE", "LOGISTIC", "HARD_SWISH", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
)


@dataclass
class ConstArray:
    name: str
    ctype: str                     # int8_t, int32_t, ...
    values: np.ndarray


@dataclass
class Lowered:
    """One operator ready to emit: a kernel call with its parameter block."""

    op: Operator
    kernel: str | None             # C function, None for a pure alias (RESHAPE)
    params_type: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    consts: list[ConstArray] = field(default_factory=list)
    args: list[tuple[int, str]] = field(default_factory=list)   # (tensor, C type) after the params
    scratch_bytes: int = 0                     # arena bytes the kernel needs during the op (last argument)
    alias: tuple[int, int] | None = None       # (input, output) sharing storage always
    inplace: tuple[int, int] | None = None     # (input, output) that may share storage


class _Ctx:
    def __init__(self, g: Graph, op: Operator, fc_rounding: str = "tflite") -> None:
        self.g, self.op, self.fc_rounding = g, op, fc_rounding

    def fail(self, what: str, t: Tensor | None = None) -> ConfigError:
        where = f"op {self.op.index} {self.op.name}"
        if t is not None:
            where += f", {t.describe()}"
        return ConfigError(f"aot engine: {where}: {what}",
                           hint="use an op, type and shape the aot engine supports (docs/aot.md), or the tflm engine")

    def t(self, pos: int, *, kind: str = "input") -> Tensor:
        lst = self.op.inputs if kind == "input" else self.op.outputs
        if pos >= len(lst) or lst[pos] < 0:
            raise self.fail(f"missing {kind} {pos}")
        return self.g.tensors[lst[pos]]

    def opt_in(self, pos: int) -> Tensor | None:
        lst = self.op.inputs
        return self.g.tensors[lst[pos]] if pos < len(lst) and lst[pos] >= 0 else None

    def act_int8(self, t: Tensor) -> None:
        if t.type != INT8:
            raise self.fail(f"type {t.type_name} not supported (int8 activations only)", t)
        if t.is_const:
            return
        if len(t.scales) != 1:
            raise self.fail("activation tensors must be quantised per tensor (one scale)", t)

    def activation(self, code: int, t: Tensor) -> tuple[int, int]:
        if code not in SUPPORTED_ACTIVATIONS:
            raise self.fail(f"fused activation {ACTIVATION_NAMES.get(code, code)} not supported "
                            f"(supported: {', '.join(SUPPORTED_ACTIVATIONS.values())})", t)
        return quant.activation_range(code, t.scale_f32, t.zero_point)

    def prefix(self) -> str:
        return f"op{self.op.index}"


def _nhwc(ctx: _Ctx, t: Tensor) -> tuple[int, int, int]:
    if len(t.shape) != 4:
        raise ctx.fail(f"expected a 4-D NHWC tensor, got shape {list(t.shape)}", t)
    if t.shape[0] != 1:
        raise ctx.fail(f"batch {t.shape[0]} not supported (batch 1 only)", t)
    return t.shape[1], t.shape[2], t.shape[3]


def _padding(ctx: _Ctx, padding: int, in_sz: int, out_sz: int, k: int, stride: int, dil: int, t: Tensor) -> int:
    eff = (k - 1) * dil + 1
    if padding == 0:        # SAME
        expect = (in_sz + stride - 1) // stride
    else:                   # VALID
        expect = (in_sz - eff + stride) // stride
    if expect != out_sz:
        raise ctx.fail(f"output size {out_sz} does not match the padding (expected {expect})", t)
    total = max((out_sz - 1) * stride + eff - in_sz, 0)
    return total // 2 if padding == 0 else 0


def _filter_dims(ctx: _Ctx, w, ic: int, oc: int, depthwise: bool) -> tuple[int, int, int]:
    """(kernel height, width, depth multiplier), after checking the filter against the tensors it joins."""
    if len(w.shape) != 4:
        raise ctx.fail("filter must be 4-D", w)
    if depthwise:
        _, kh, kw, woc = w.shape
        dm = int(ctx.op.options.DepthMultiplier()) or 1
        if woc != oc or oc != ic * dm:
            raise ctx.fail(f"depthwise filter {list(w.shape)} does not match input channels {ic} x multiplier {dm}", w)
        qdim = 3
    else:
        woc, kh, kw, wic = w.shape
        dm = 1
        if woc != oc:
            raise ctx.fail(f"filter has {woc} output channels, output has {oc}", w)
        if wic != ic:
            raise ctx.fail(f"grouped convolution (filter depth {wic}, input depth {ic}) not supported", w)
        qdim = 0
    if len(w.scales) not in (1, oc):
        raise ctx.fail(f"expected 1 or {oc} filter scales, got {len(w.scales)}", w)
    if len(w.scales) == oc and oc > 1 and w.quantized_dimension != qdim:
        raise ctx.fail(f"per-channel scales must be along dimension {qdim}", w)
    return kh, kw, dm


def _channel_multipliers(x, w, y, oc: int) -> tuple[list[int], list[int]]:
    """TFLite's per-channel requantisation: input scale x filter scale / output scale, as (multiplier, shift)."""
    mults, shifts = [], []
    for c in range(oc):
        ws = w.scales[c] if len(w.scales) > 1 else w.scales[0]
        m = float(x.scale_f32) * float(np.float32(ws)) / float(y.scale_f32)
        qm, s = quant.quantize_multiplier(m)
        mults.append(qm)
        shifts.append(s)
    return mults, shifts


def _filter_layout(wdata: np.ndarray, depthwise: bool, dm: int, kh: int, kw: int, ic: int,
                   oc: int) -> tuple[np.ndarray, int, np.ndarray | None]:
    """(filter bytes in the kernels' layout, padded row length, int16 tap pairs or None)."""
    pairs = None
    if depthwise:
        filt, row = wdata.reshape(-1), 0
        if dm == 1 and oc >= 4:
            # neighbouring taps as int16 pairs for SMLAD, per group of 4 channels:
            # [oc/4][kh][kw/2][4][2]
            wk = wdata.reshape(kh, kw, oc).astype(np.int16)
            npairs, groups = kw // 2, oc // 4
            pr = np.stack([wk[:, 0:2 * npairs:2, :], wk[:, 1:2 * npairs:2, :]], axis=-1)   # kh, np, oc, 2
            pr = pr[:, :, :groups * 4, :].reshape(kh, npairs, groups, 4, 2).transpose(2, 0, 1, 3, 4)
            pairs = pr.reshape(-1)
        return filt, row, pairs
    # rows padded with zeros to a multiple of 4 so the dot products have no tail
    n = kh * kw * ic
    row = (n + 3) // 4 * 4
    rows = np.zeros((oc, row), np.int8)
    rows[:, :n] = wdata.reshape(oc, n)
    # channel pairs with their rows interleaved every 4 bytes, an odd last row as is
    pairs2 = rows[:oc // 2 * 2].reshape(oc // 2, 2, row // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([pairs2, rows[oc // 2 * 2:].reshape(-1)]), row, None


def _conv_like(ctx: _Ctx, depthwise: bool) -> Lowered:
    x, w = ctx.t(0), ctx.t(1)
    b = ctx.opt_in(2)
    y = ctx.t(0, kind="output")
    for t in (x, y):
        ctx.act_int8(t)
    if w.type != INT8 or not w.is_const:
        raise ctx.fail("filter must be constant int8", w)
    if np.any(w.zero_points != 0):
        raise ctx.fail("filter zero points must be 0 (symmetric weights)", w)
    ih, iw, ic = _nhwc(ctx, x)
    oh, ow, oc = _nhwc(ctx, y)
    o = ctx.op.options
    kh, kw, dm = _filter_dims(ctx, w, ic, oc, depthwise)
    sh, sw = int(o.StrideH()), int(o.StrideW())
    dh, dw = int(o.DilationHFactor()) or 1, int(o.DilationWFactor()) or 1
    pad_t = _padding(ctx, int(o.Padding()), ih, oh, kh, sh, dh, y)
    pad_l = _padding(ctx, int(o.Padding()), iw, ow, kw, sw, dw, y)
    act_min, act_max = ctx.activation(int(o.FusedActivationFunction()), y)

    if b is not None:
        if b.type != INT32 or not b.is_const:
            raise ctx.fail(f"bias type {b.type_name} not supported (constant int32 only)", b)
        bias = b.data.astype(np.int64).reshape(-1)
        if bias.size != oc:
            raise ctx.fail(f"bias has {bias.size} values for {oc} channels", b)
    else:
        bias = np.zeros(oc, np.int64)

    in_off = -x.zero_point
    wd = w.data.astype(np.int64)
    sums = wd.sum(axis=(0, 1, 2)) if depthwise else wd.reshape(oc, -1).sum(axis=1)
    bias_eff = np.array([quant.to_int32(int(bv) + in_off * int(s)) for bv, s in zip(bias, sums)], np.int64)
    mults, shifts = _channel_multipliers(x, w, y, oc)
    # |acc| bound per channel, for the kernels' small-accumulator requantisation:
    # bias_eff + sum(w * x) with |x| <= 128 (the fast paths), bias + sum(w * (x - zp))
    # with |x - zp| <= 255 (the generic depthwise path)
    abs_w = np.abs(wd).sum(axis=(0, 1, 2)) if depthwise else np.abs(wd).reshape(oc, -1).sum(axis=1)
    bound = np.maximum(np.abs(bias_eff) + 128 * abs_w, np.abs(bias) + 255 * abs_w)
    small_acc = all(int(b_) << max(s_, 0) < (1 << 30) for b_, s_ in zip(bound, shifts))
    p = ctx.prefix()
    filt, row, pairs = _filter_layout(w.data, depthwise, dm, kh, kw, ic, oc)
    # the raw bias is only read by the generic depthwise path (multiplier > 1)
    raw_bias = depthwise and dm > 1
    consts = [
        ConstArray(f"{p}_filter", "int8_t", filt),
        *([ConstArray(f"{p}_bias", "int32_t", bias)] if raw_bias else []),
        ConstArray(f"{p}_bias_eff", "int32_t", bias_eff),
        ConstArray(f"{p}_mult", "int32_t", np.array(mults, np.int64)),
        ConstArray(f"{p}_shift", "int8_t", np.array(shifts, np.int64)),
    ]
    if pairs is not None:      # (a one-element dummy when kw == 1: never read)
        consts.append(ConstArray(f"{p}_filter_pairs", "int16_t", pairs))
    params = dict(in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                  stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw, pad_top=pad_t, pad_left=pad_l,
                  depth_mult=dm, small_acc=int(small_acc), row=row, in_offset=in_off, out_offset=y.zero_point,
                  act_min=act_min, act_max=act_max,
                  filter=f"{p}_filter",
                  filter_pairs=f"{p}_filter_pairs" if pairs is not None else "NULL",
                  bias=f"{p}_bias" if raw_bias else "NULL", bias_eff=f"{p}_bias_eff", mult=f"{p}_mult",
                  shift=f"{p}_shift")
    if depthwise:
        scratch = (kh * kw * ic + 3) // 4 * 4 if dm == 1 else 0
        return Lowered(ctx.op, "aot_depthwise_conv2d", "aot_conv_params_t", params, consts,
                       [(x.index, "const int8_t *"), (y.index, "int8_t *")], scratch_bytes=scratch)
    return Lowered(ctx.op, "aot_conv2d", "aot_conv_params_t", params, consts,
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")], scratch_bytes=6 * row)


def _fully_connected(ctx: _Ctx) -> Lowered:
    x, w = ctx.t(0), ctx.t(1)
    b = ctx.opt_in(2)
    y = ctx.t(0, kind="output")
    ctx.act_int8(x)
    ctx.act_int8(y)
    if w.type != INT8 or not w.is_const or len(w.shape) != 2:
        raise ctx.fail("weights must be a constant 2-D int8 tensor", w)
    if np.any(w.zero_points != 0):
        raise ctx.fail("weight zero points must be 0", w)
    o = ctx.op.options
    if o is not None and int(o.WeightsFormat()) != 0:
        raise ctx.fail("shuffled weights format not supported", w)
    n_out, depth = w.shape
    if x.size % depth:
        raise ctx.fail(f"input size {x.size} is not a multiple of the weight depth {depth}", x)
    batches = x.size // depth
    if y.size != batches * n_out:
        raise ctx.fail(f"output size {y.size} != {batches} x {n_out}", y)
    per_channel = len(w.scales) > 1
    if per_channel and len(w.scales) != n_out:
        raise ctx.fail(f"expected {n_out} per-channel weight scales, got {len(w.scales)}", w)
    act = int(o.FusedActivationFunction()) if o is not None else 0
    act_min, act_max = ctx.activation(act, y)
    if b is not None:
        if b.type != INT32 or not b.is_const:
            raise ctx.fail(f"bias type {b.type_name} not supported (constant int32 only)", b)
        bias = b.data.astype(np.int64).reshape(-1)
    else:
        bias = np.zeros(n_out, np.int64)
    in_off = -x.zero_point
    sums = w.data.astype(np.int64).sum(axis=1)
    bias_eff = np.array([quant.to_int32(int(bv) + in_off * int(s)) for bv, s in zip(bias, sums)], np.int64)
    mults, shifts = [], []
    if per_channel:
        # PopulateConvolutionQuantizationParams: products in double
        for c in range(n_out):
            m = float(x.scale_f32) * float(np.float32(w.scales[c])) / float(y.scale_f32)
            qm, s = quant.quantize_multiplier(m)
            mults.append(qm)
            shifts.append(s)
    else:
        # GetQuantizedConvolutionMultipler: input*filter in float, then double
        m = float(np.float32(x.scale_f32 * np.float32(w.scales[0]))) / float(y.scale_f32)
        qm, s = quant.quantize_multiplier(m)
        mults, shifts = [qm], [s]
    p = ctx.prefix()
    consts = [
        ConstArray(f"{p}_filter", "int8_t", w.data.reshape(-1)),
        ConstArray(f"{p}_bias_eff", "int32_t", bias_eff),
        ConstArray(f"{p}_mult", "int32_t", np.array(mults, np.int64)),
        ConstArray(f"{p}_shift", "int8_t", np.array(shifts, np.int64)),
    ]
    params = dict(batches=batches, in_depth=depth, out_depth=n_out, in_offset=in_off, out_offset=y.zero_point,
                  act_min=act_min, act_max=act_max, filter=f"{p}_filter", bias_eff=f"{p}_bias_eff",
                  mult=f"{p}_mult", shift=f"{p}_shift", per_channel=int(per_channel),
                  single_rounding=int(ctx.fc_rounding == "tflite"))
    return Lowered(ctx.op, "aot_fully_connected", "aot_fc_params_t", params, consts,
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")])


def _pool(ctx: _Ctx, kind: str) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    ctx.act_int8(x)
    ctx.act_int8(y)
    if x.scale_f32 != y.scale_f32 or x.zero_point != y.zero_point:
        raise ctx.fail("input and output quantisation must be equal", y)
    ih, iw, c = _nhwc(ctx, x)
    oh, ow, oc = _nhwc(ctx, y)
    if oc != c:
        raise ctx.fail("pooling must keep the channel count", y)
    o = ctx.op.options
    fh, fw = int(o.FilterHeight()), int(o.FilterWidth())
    sh, sw = int(o.StrideH()), int(o.StrideW())
    pt = _padding(ctx, int(o.Padding()), ih, oh, fh, sh, 1, y)
    pl = _padding(ctx, int(o.Padding()), iw, ow, fw, sw, 1, y)
    act_min, act_max = ctx.activation(int(o.FusedActivationFunction()), y)
    params = dict(in_h=ih, in_w=iw, ch=c, out_h=oh, out_w=ow, f_h=fh, f_w=fw, stride_h=sh, stride_w=sw,
                  pad_top=pt, pad_left=pl, act_min=act_min, act_max=act_max)
    # In place is safe when no output reads before its own position (no top/left padding).
    inplace = (x.index, y.index) if pt == 0 and pl == 0 else None
    kernel = "aot_max_pool2d" if kind == "max" else "aot_avg_pool2d"
    return Lowered(ctx.op, kernel, "aot_pool_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")], inplace=inplace)


def _mean(ctx: _Ctx) -> Lowered:
    x, axes_t = ctx.t(0), ctx.t(1)
    y = ctx.t(0, kind="output")
    ctx.act_int8(x)
    ctx.act_int8(y)
    if not axes_t.is_const:
        raise ctx.fail("reduction axes must be constant", axes_t)
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in np.asarray(axes_t.data).reshape(-1)})
    if not axes or axes != list(range(axes[0], axes[-1] + 1)):
        raise ctx.fail(f"reduction axes {axes} must be one contiguous group", axes_t)
    outer = int(np.prod(x.shape[:axes[0]])) if axes[0] else 1
    reduce = int(np.prod([x.shape[a] for a in axes]))
    inner = int(np.prod(x.shape[axes[-1] + 1:])) if axes[-1] + 1 < rank else 1
    if y.size != outer * inner:
        raise ctx.fail(f"output size {y.size} != {outer * inner}", y)
    if reduce == 0:
        raise ctx.fail("empty reduction", x)
    mult, shift = quant.mean_multiplier(x.scale, y.scale, reduce)
    params = dict(outer=outer, reduce=reduce, inner=inner, in_zp_times_n=quant.to_int32(x.zero_point * reduce),
                  out_offset=y.zero_point, mult=mult, shift=shift)
    return Lowered(ctx.op, "aot_mean", "aot_mean_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")])


def _broadcast(ctx: _Ctx, a: Tensor, b: Tensor, y: Tensor) -> tuple[list[int], list[int], list[int], int]:
    out = list(y.shape)
    if len(out) > 4 or len(a.shape) > 4 or len(b.shape) > 4:
        raise ctx.fail("more than 4 dimensions not supported", y)
    od = [1] * (4 - len(out)) + out

    def strides(t: Tensor) -> list[int]:
        d = [1] * (4 - len(t.shape)) + list(t.shape)
        st, acc = [0] * 4, 1
        for i in range(3, -1, -1):
            if d[i] != od[i] and d[i] != 1:
                raise ctx.fail(f"shape {list(t.shape)} does not broadcast to {out}", t)
            st[i] = acc if d[i] != 1 else 0
            acc *= d[i]
        return st

    sa, sb = strides(a), strides(b)
    dense = [od[1] * od[2] * od[3], od[2] * od[3], od[3], 1]
    a_full = all(sa[i] == dense[i] or od[i] == 1 for i in range(4))
    form = 0
    if a_full and b.size == y.size and all(sb[i] == dense[i] or od[i] == 1 for i in range(4)):
        form = 1
    elif a_full and b.size == 1:
        form = 3
    elif a_full and b.size == od[3] and sb[3] == 1:
        form = 2
    return od, sa, sb, form


def _binary(ctx: _Ctx, kind: str) -> Lowered:
    a, b = ctx.t(0), ctx.t(1)
    y = ctx.t(0, kind="output")
    for t in (a, b, y):
        ctx.act_int8(t)
    for t in (a, b):
        if t.is_const and len(t.scales) != 1:
            raise ctx.fail("constant operand must be quantised per tensor", t)
    if a.size < b.size or (a.is_const and not b.is_const and a.size == b.size):
        a, b = b, a   # both ops commute: put the full-size operand first
    od, sa, sb, form = _broadcast(ctx, a, b, y)
    o = ctx.op.options
    act = int(o.FusedActivationFunction()) if o is not None else 0
    act_min, act_max = ctx.activation(act, y)
    p = dict(out_dims=od, in1_strides=sa, in2_strides=sb, in1_offset=-a.zero_point, in2_offset=-b.zero_point,
             out_offset=y.zero_point, act_min=act_min, act_max=act_max, form=form,
             left_shift=0, in1_mult=0, in1_shift=0, in2_mult=0, in2_shift=0, out_mult=0, out_shift=0)
    p["small_acc"] = 0
    if kind == "mul":
        m = float(a.scale_f32) * float(b.scale_f32) / float(y.scale_f32)
        p["out_mult"], p["out_shift"] = quant.quantize_multiplier(m)
        # |(a - zp_a) * (b - zp_b)| <= 255 * 255
        p["small_acc"] = int((255 * 255) << max(p["out_shift"], 0) < (1 << 30))
    else:
        left_shift = 20
        twice_max = float(np.float32(2) * max(a.scale_f32, b.scale_f32))
        p["left_shift"] = left_shift
        p["in1_mult"], p["in1_shift"] = quant.quantize_multiplier(float(a.scale_f32) / twice_max)
        p["in2_mult"], p["in2_shift"] = quant.quantize_multiplier(float(b.scale_f32) / twice_max)
        denom = float(np.float32((1 << left_shift) * y.scale_f32))
        p["out_mult"], p["out_shift"] = quant.quantize_multiplier(twice_max / denom)
    consts = []
    pre = ctx.prefix()
    for name, t in (("in1", a), ("in2", b)):
        if t.is_const:
            consts.append(ConstArray(f"{pre}_{name}", "int8_t", t.data.reshape(-1)))
    inplace = (a.index, y.index) if (not a.is_const and a.size == y.size) else None
    kernel = "aot_mul" if kind == "mul" else "aot_add"
    return Lowered(ctx.op, kernel, "aot_binary_params_t", p, consts,
                   [(a.index, "const int8_t *"), (b.index, "const int8_t *"), (y.index, "int8_t *")],
                   inplace=inplace)


def _reshape(ctx: _Ctx) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    if x.type != y.type:
        raise ctx.fail("input and output types differ", y)
    if x.type not in (INT8, FLOAT32):
        raise ctx.fail(f"type {x.type_name} not supported", x)
    if x.is_const:
        raise ctx.fail("constant input not supported", x)
    if x.size != y.size:
        raise ctx.fail(f"element counts differ ({x.size} vs {y.size})", y)
    return Lowered(ctx.op, None, alias=(x.index, y.index))


def _logistic(ctx: _Ctx) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    ctx.act_int8(x)
    ctx.act_int8(y)
    _fixed_output(ctx, y)
    real = float(x.scale_f32) * float(1 << (31 - 4))
    import math

    q, shift = math.frexp(real)
    mult = quant.round_half_away(q * (1 << 31))
    params = dict(size=x.size, in_zp=x.zero_point, range_radius=quant.calculate_input_radius(4, shift),
                  mult=mult, left_shift=shift)
    return Lowered(ctx.op, "aot_logistic", "aot_logistic_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")], inplace=(x.index, y.index))


def _fixed_output(ctx: _Ctx, y: Tensor) -> None:
    if y.scale_f32 != np.float32(1.0 / 256) or y.zero_point != -128:
        raise ctx.fail("output quantisation must be scale 1/256, zero point -128", y)


def _hard_swish(ctx: _Ctx) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    ctx.act_int8(x)
    ctx.act_int8(y)
    hires = np.float32(1.0 / 128.0) * x.scale_f32
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    out_m32, out_exp = quant.quantize_multiplier(float(np.float32(hires / y.scale_f32)))
    rel_m32, rel_exp = quant.quantize_multiplier(float(np.float32(hires / reluish_scale)))
    if out_exp > 0:
        raise ctx.fail("input/output scale ratio too large for the 16-bit hard-swish arithmetic", y)
    params = dict(size=x.size, in_zp=x.zero_point, out_zp=y.zero_point,
                  reluish_mult=quant.downscale_to_int16(rel_m32), out_mult=quant.downscale_to_int16(out_m32),
                  reluish_exp=rel_exp, out_exp=out_exp)
    return Lowered(ctx.op, "aot_hard_swish", "aot_hard_swish_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")], inplace=(x.index, y.index))


def _softmax(ctx: _Ctx) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    ctx.act_int8(x)
    ctx.act_int8(y)
    _fixed_output(ctx, y)
    beta = float(np.float32(ctx.op.options.Beta())) if ctx.op.options is not None else 1.0
    real = min(beta * float(x.scale_f32) * float(1 << (31 - 5)), float((1 << 31) - 1))
    mult, shift = quant.quantize_multiplier(real)
    if shift < 0:
        raise ctx.fail("input scale too small for the fixed-point softmax", x)
    depth = x.shape[-1] if x.shape else 1
    params = dict(rows=x.size // depth, depth=depth, in_mult=mult, in_left_shift=shift,
                  diff_min=-quant.calculate_input_radius(5, shift))
    return Lowered(ctx.op, "aot_softmax", "aot_softmax_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")])


def _quantize(ctx: _Ctx) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    ctx.act_int8(y)
    if x.type == FLOAT32:
        params = dict(size=x.size, scale=float(y.scale_f32), in_zp=0, out_zp=y.zero_point, mult=0, shift=0)
        return Lowered(ctx.op, "aot_quantize_f32", "aot_quantize_params_t", params, [],
                       [(x.index, "const float *"), (y.index, "int8_t *")])
    ctx.act_int8(x)
    mult, shift = quant.quantize_multiplier(float(x.scale_f32) / float(y.scale_f32))
    params = dict(size=x.size, scale=0.0, in_zp=x.zero_point, out_zp=y.zero_point, mult=mult, shift=shift)
    return Lowered(ctx.op, "aot_requantize", "aot_quantize_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "int8_t *")], inplace=(x.index, y.index))


def _dequantize(ctx: _Ctx) -> Lowered:
    x, y = ctx.t(0), ctx.t(0, kind="output")
    ctx.act_int8(x)
    if y.type != FLOAT32:
        raise ctx.fail(f"output type {y.type_name} not supported (float32 only)", y)
    params = dict(size=x.size, zp=x.zero_point, scale=float(x.scale_f32))
    return Lowered(ctx.op, "aot_dequantize", "aot_dequantize_params_t", params, [],
                   [(x.index, "const int8_t *"), (y.index, "float *")])


_LOWER = {
    "CONV_2D": lambda c: _conv_like(c, False),
    "DEPTHWISE_CONV_2D": lambda c: _conv_like(c, True),
    "FULLY_CONNECTED": _fully_connected,
    "MAX_POOL_2D": lambda c: _pool(c, "max"),
    "AVERAGE_POOL_2D": lambda c: _pool(c, "avg"),
    "MEAN": _mean,
    "MUL": lambda c: _binary(c, "mul"),
    "ADD": lambda c: _binary(c, "add"),
    "RESHAPE": _reshape,
    "LOGISTIC": _logistic,
    "HARD_SWISH": _hard_swish,
    "SOFTMAX": _softmax,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}


FC_ROUNDINGS = ("tflite", "tflm")


def lower_op(g: Graph, op: Operator, fc_rounding: str = "tflite") -> Lowered:
    """fc_rounding: FULLY_CONNECTED requantisation as TFLite's BUILTIN_REF does it
    (one rounding in 64 bits) or as TFLM does (MultiplyByQuantizedMultiplier)."""
    ctx = _Ctx(g, op, fc_rounding)
    fn = _LOWER.get(op.name)
    if fn is None:
        t = g.tensors[op.outputs[0]] if op.outputs else None
        raise ctx.fail(f"operator not supported (supported: {', '.join(SUPPORTED_OPS)})", t)
    return fn(ctx)
