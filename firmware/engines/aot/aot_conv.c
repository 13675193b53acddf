/* aot_conv.c -- CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, int8.
 *
 * Arithmetic of TFLite's reference_integer_ops (per-channel):
 *   acc = bias[oc] + sum over taps inside the input of filter * (input + in_offset)
 *   out = clamp(MultiplyByQuantizedMultiplier(acc, mult[oc], shift[oc]) + out_offset)
 * Taps outside the input (padding) contribute nothing. Here every tap is
 * summed as filter * x, with taps outside the input gathered as x = zero
 * point, and bias_eff = bias + in_offset * sum(filter of oc) computed on the
 * host: that is the same integer sum in another order, so the result is
 * identical, and borders take the same fast path as the interior.
 *
 * Parameters are copied into locals first: stores through int8_t pointers
 * may alias anything, which would otherwise make the compiler reload them.
 */
#include <string.h>

#include "aot_fixedpoint.h"
#include "aot_kernels.h"

#if AOT_DSP
AOT_INLINE uint32_t load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);   /* unaligned LDR: allowed on Cortex-M4 */
    return v;
}
#endif

AOT_INLINE int8_t requant_out(int32_t acc, int32_t mult, int32_t shift, int32_t off, int32_t lo, int32_t hi,
                              int32_t small)
{
    const int32_t v = small ? aot_requant_small(acc, mult, shift) : aot_requant(acc, mult, shift);
    return (int8_t)aot_clamp32(v + off, lo, hi);
}

/* sum x[i] * w[i], i < n */
AOT_INLINE int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if AOT_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = load_u32(x + i);
        const uint32_t wv = load_u32(w + i);
        /* bytes 0,2 and 1,3 as int16 pairs: same pairing on both sides */
        acc = (int32_t)__smlad(__sxtb16(xv), __sxtb16(wv), (uint32_t)acc);
        acc = (int32_t)__smlad(aot_sxtb16_ror8(xv), aot_sxtb16_ror8(wv), (uint32_t)acc);
    }
#endif
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * (int32_t)w[i];
    }
    return acc;
}

/* Copies the input taps of one output pixel into patch in filter order
 * ([ky][kx][ic]). Taps outside the input (padding) are filled with the input
 * zero point: (zp + in_offset) is 0, so with bias_eff they add nothing, and
 * every pixel takes the same dot-product path. */
static void gather_taps(const aot_conv_params_t *p, const int8_t *restrict in, int32_t y0, int32_t x0,
                        int8_t *restrict patch)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, ic = p->in_c, kh = p->k_h, kw = p->k_w;
    const int32_t dh = p->dil_h, dw = p->dil_w;
    const int zp = -p->in_offset;
    const size_t seg = (size_t)(kw * ic);
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = y0 + ky * dh;
        int8_t *dst = patch + ky * kw * ic;
        if (iy < 0 || iy >= in_h) {
            memset(dst, zp, seg);
        } else if (dw == 1 && x0 >= 0 && x0 + kw <= in_w) {
            memcpy(dst, in + (iy * in_w + x0) * ic, seg);
        } else {
            for (int32_t kx = 0; kx < kw; ++kx) {
                const int32_t ix = x0 + kx * dw;
                if (ix < 0 || ix >= in_w) {
                    memset(dst + kx * ic, zp, (size_t)ic);
                } else {
                    memcpy(dst + kx * ic, in + (iy * in_w + ix) * ic, (size_t)ic);
                }
            }
        }
    }
}

/* The patch of one output pixel in the form the dot products below take,
 * zero padded to row (a multiple of 4): on the DSP path every 4 bytes
 * x0..x3 become the int16 pairs (x0,x2),(x1,x3), which is how SXTB16 unpacks
 * the weights. scratch holds 3 * row bytes. */
static const void *gather_patch(const aot_conv_params_t *p, const int8_t *restrict in, int32_t y0, int32_t x0,
                                int8_t *restrict scratch)
{
    const int32_t row = p->row;
    int8_t *restrict patch = scratch;
    gather_taps(p, in, y0, x0, patch);
    for (int32_t i = p->k_h * p->k_w * p->in_c; i < row; ++i) {
        patch[i] = 0;
    }
#if AOT_DSP
    int8_t *restrict q = scratch + row;
    for (int32_t i = 0; i < row; i += 4) {
        const uint32_t v = load_u32(patch + i);
        const uint32_t pair[2] = {__sxtb16(v), aot_sxtb16_ror8(v)};
        memcpy(q, pair, 8);
        q += 8;
    }
    return scratch + row;
#else
    return patch;
#endif
}

/* Filter layout (made on the host): output channels in pairs, the two rows of
 * a pair interleaved every 4 inputs ([w0 x4][w1 x4] ...), so one pointer walks
 * both; with an odd count the last row follows as is. */

/* Channels 2k, 2k+1 (w: their interleaved rows) against one patch. */
AOT_INLINE void dot2_patch(const void *patch, const int8_t *w, int32_t row, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
#if AOT_DSP
    const int8_t *q = (const int8_t *)patch;
    const int8_t *const wend = w + 2 * row;
    while (w != wend) {
        const uint32_t x02 = load_u32(q), x13 = load_u32(q + 4);
        const uint32_t v0 = load_u32(w), v1 = load_u32(w + 4);
        a0 = (int32_t)__smlad(x02, __sxtb16(v0), (uint32_t)a0);
        a0 = (int32_t)__smlad(x13, aot_sxtb16_ror8(v0), (uint32_t)a0);
        a1 = (int32_t)__smlad(x02, __sxtb16(v1), (uint32_t)a1);
        a1 = (int32_t)__smlad(x13, aot_sxtb16_ror8(v1), (uint32_t)a1);
        q += 8;
        w += 8;
    }
#else
    const int8_t *x = (const int8_t *)patch;
    const int8_t *const wend = w + 2 * row;
    while (w != wend) {
        a0 += (int32_t)x[0] * w[0] + (int32_t)x[1] * w[1] + (int32_t)x[2] * w[2] + (int32_t)x[3] * w[3];
        a1 += (int32_t)x[0] * w[4] + (int32_t)x[1] * w[5] + (int32_t)x[2] * w[6] + (int32_t)x[3] * w[7];
        x += 4;
        w += 8;
    }
#endif
    *acc0 = a0;
    *acc1 = a1;
}

/* One plain filter row against one patch. */
AOT_INLINE int32_t dot1_patch(const void *patch, const int8_t *w0, int32_t row, int32_t acc)
{
#if AOT_DSP
    const int8_t *q = (const int8_t *)patch;
    for (int32_t i = 0; i < row; i += 4) {
        const uint32_t v0 = load_u32(w0 + i);
        acc = (int32_t)__smlad(load_u32(q), __sxtb16(v0), (uint32_t)acc);
        acc = (int32_t)__smlad(load_u32(q + 4), aot_sxtb16_ror8(v0), (uint32_t)acc);
        q += 8;
    }
    return acc;
#else
    return dot_s8((const int8_t *)patch, w0, row, acc);
#endif
}

/* All output channels of one pixel. Kept out of line so its loop gets the
 * registers to itself. */
__attribute__((noinline)) static void conv_pixel(const aot_conv_params_t *p, const void *patch, int8_t *restrict o)
{
    const int32_t oc_n = p->out_c, row = p->row;
    const int32_t out_off = p->out_offset, act_min = p->act_min, act_max = p->act_max, small = p->small_acc;
    const int8_t *w = p->filter;
    const int32_t *bias_eff = p->bias_eff, *mult = p->mult;
    const int8_t *shift = p->shift;
    int32_t oc = 0;
    for (; oc + 2 <= oc_n; oc += 2) {
        int32_t a0 = bias_eff[oc], a1 = bias_eff[oc + 1];
        dot2_patch(patch, w, row, &a0, &a1);
        w += 2 * row;
        o[oc] = requant_out(a0, mult[oc], shift[oc], out_off, act_min, act_max, small);
        o[oc + 1] = requant_out(a1, mult[oc + 1], shift[oc + 1], out_off, act_min, act_max, small);
    }
    if (oc < oc_n) {
        const int32_t a = dot1_patch(patch, w, row, bias_eff[oc]);
        o[oc] = requant_out(a, mult[oc], shift[oc], out_off, act_min, act_max, small);
    }
}

#if AOT_DSP
/* Two neighbouring output pixels at once: each weight word is unpacked once
 * for both. qq holds their patches interleaved every 4 inputs:
 * (A x0,x2)(A x1,x3)(B x0,x2)(B x1,x3) ... */
__attribute__((noinline)) static void conv_pixel2(const aot_conv_params_t *p, const int8_t *qq, int8_t *restrict oa,
                                                  int8_t *restrict ob)
{
    const int32_t oc_n = p->out_c, row = p->row;
    const int32_t out_off = p->out_offset, act_min = p->act_min, act_max = p->act_max, small = p->small_acc;
    const int8_t *w = p->filter;
    const int32_t *bias_eff = p->bias_eff, *mult = p->mult;
    const int8_t *shift = p->shift;
    int32_t oc = 0;
    for (; oc + 2 <= oc_n; oc += 2) {
        int32_t a0 = bias_eff[oc], a1 = bias_eff[oc + 1];
        int32_t b0 = a0, b1 = a1;
        const int8_t *q = qq;
        const int8_t *const wend = w + 2 * row;
        while (w != wend) {
            const uint32_t v0 = load_u32(w);
            const uint32_t w0l = __sxtb16(v0), w0h = aot_sxtb16_ror8(v0);
            a0 = (int32_t)__smlad(load_u32(q), w0l, (uint32_t)a0);
            a0 = (int32_t)__smlad(load_u32(q + 4), w0h, (uint32_t)a0);
            b0 = (int32_t)__smlad(load_u32(q + 8), w0l, (uint32_t)b0);
            b0 = (int32_t)__smlad(load_u32(q + 12), w0h, (uint32_t)b0);
            const uint32_t v1 = load_u32(w + 4);
            const uint32_t w1l = __sxtb16(v1), w1h = aot_sxtb16_ror8(v1);
            a1 = (int32_t)__smlad(load_u32(q), w1l, (uint32_t)a1);
            a1 = (int32_t)__smlad(load_u32(q + 4), w1h, (uint32_t)a1);
            b1 = (int32_t)__smlad(load_u32(q + 8), w1l, (uint32_t)b1);
            b1 = (int32_t)__smlad(load_u32(q + 12), w1h, (uint32_t)b1);
            q += 16;
            w += 8;
        }
        oa[oc] = requant_out(a0, mult[oc], shift[oc], out_off, act_min, act_max, small);
        oa[oc + 1] = requant_out(a1, mult[oc + 1], shift[oc + 1], out_off, act_min, act_max, small);
        ob[oc] = requant_out(b0, mult[oc], shift[oc], out_off, act_min, act_max, small);
        ob[oc + 1] = requant_out(b1, mult[oc + 1], shift[oc + 1], out_off, act_min, act_max, small);
    }
    if (oc < oc_n) {
        int32_t a = bias_eff[oc], b = a;
        const int8_t *q = qq;
        for (int32_t i = 0; i < row; i += 4) {
            const uint32_t v0 = load_u32(w + i);
            const uint32_t wl = __sxtb16(v0), wh = aot_sxtb16_ror8(v0);
            a = (int32_t)__smlad(load_u32(q), wl, (uint32_t)a);
            a = (int32_t)__smlad(load_u32(q + 4), wh, (uint32_t)a);
            b = (int32_t)__smlad(load_u32(q + 8), wl, (uint32_t)b);
            b = (int32_t)__smlad(load_u32(q + 12), wh, (uint32_t)b);
            q += 16;
        }
        oa[oc] = requant_out(a, mult[oc], shift[oc], out_off, act_min, act_max, small);
        ob[oc] = requant_out(b, mult[oc], shift[oc], out_off, act_min, act_max, small);
    }
}
#endif

void aot_conv2d(const aot_conv_params_t *p, const int8_t *in, int8_t *out, int8_t *scratch)
{
    const int32_t out_h = p->out_h, out_w = p->out_w, oc_n = p->out_c;
    const int32_t sh = p->stride_h, sw = p->stride_w, pad_t = p->pad_top, pad_l = p->pad_left;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t y0 = oy * sh - pad_t;
        int32_t ox = 0;
#if AOT_DSP
        const int32_t row = p->row, taps = p->k_h * p->k_w * p->in_c;
        for (; ox + 2 <= out_w; ox += 2) {
            int8_t *pa = scratch, *pb = scratch + row, *qq = scratch + 2 * row;
            gather_taps(p, in, y0, ox * sw - pad_l, pa);
            gather_taps(p, in, y0, (ox + 1) * sw - pad_l, pb);
            for (int32_t i = taps; i < row; ++i) {
                pa[i] = 0;
                pb[i] = 0;
            }
            for (int32_t i = 0; i < row; i += 4) {
                const uint32_t va = load_u32(pa + i), vb = load_u32(pb + i);
                const uint32_t four[4] = {__sxtb16(va), aot_sxtb16_ror8(va), __sxtb16(vb), aot_sxtb16_ror8(vb)};
                memcpy(qq + 4 * i, four, 16);
            }
            int8_t *o = out + (oy * out_w + ox) * oc_n;
            conv_pixel2(p, qq, o, o + oc_n);
        }
#endif
        for (; ox < out_w; ++ox) {
            const void *patch = gather_patch(p, in, y0, ox * sw - pad_l, scratch);
            conv_pixel(p, patch, out + (oy * out_w + ox) * oc_n);
        }
    }
}

/* All channels of one output pixel, multiplier 1: tap (ky, kx) of channel c
 * is base[ky * step_y + kx * step_x + c] (the input itself, or a gathered
 * patch at the borders). */
__attribute__((noinline)) static void depthwise_pixel(const aot_conv_params_t *p, const int8_t *base, int32_t step_x,
                                                      int32_t step_y, int8_t *restrict o)
{
    const int32_t oc_n = p->out_c, kh = p->k_h, kw = p->k_w;
    const int32_t wstep_y = kw * oc_n;
    const int32_t out_off = p->out_offset, act_min = p->act_min, act_max = p->act_max, small = p->small_acc;
    const int8_t *filter = p->filter;
    const int32_t *bias_eff = p->bias_eff, *mult = p->mult;
    const int8_t *shift = p->shift;
    int32_t c = 0;
#if AOT_DSP
    /* Four channels at a time. Neighbouring taps kx, kx+1 of one channel go
     * into one SMLAD: the inputs of the two taps are unpacked (SXTB16) and
     * interleaved (PKHBT/PKHTB) into (x[kx][c], x[kx+1][c]) pairs that meet the
     * host-packed filter_pairs. An odd last tap uses SMLABB/SMLATT. */
    const int32_t npairs = kw / 2;
    const int32_t step2 = 2 * step_x;
    const int16_t *wq = p->filter_pairs;           /* walks the groups in order */
    for (; c + 4 <= oc_n; c += 4) {
        int32_t a0 = bias_eff[c], a1 = bias_eff[c + 1];
        int32_t a2 = bias_eff[c + 2], a3 = bias_eff[c + 3];
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int8_t *xp = base + ky * step_y + c;
            const int16_t *const wend = wq + npairs * 8;
            while (wq != wend) {
                const uint32_t xa = load_u32(xp), xb = load_u32(xp + step_x);
                const uint32_t a02 = __sxtb16(xa), b02 = __sxtb16(xb);
                a0 = (int32_t)__smlad(aot_pack_lo(a02, b02), load_u32(wq), (uint32_t)a0);
                a2 = (int32_t)__smlad(aot_pack_hi(a02, b02), load_u32(wq + 4), (uint32_t)a2);
                const uint32_t a13 = aot_sxtb16_ror8(xa), b13 = aot_sxtb16_ror8(xb);
                a1 = (int32_t)__smlad(aot_pack_lo(a13, b13), load_u32(wq + 2), (uint32_t)a1);
                a3 = (int32_t)__smlad(aot_pack_hi(a13, b13), load_u32(wq + 6), (uint32_t)a3);
                xp += step2;
                wq += 8;
            }
            if (kw & 1) {
                const uint32_t xv = load_u32(xp);
                const uint32_t wv = load_u32(filter + ky * wstep_y + (kw - 1) * oc_n + c);
                const uint32_t x02 = __sxtb16(xv), w02 = __sxtb16(wv);
                const uint32_t x13 = aot_sxtb16_ror8(xv), w13 = aot_sxtb16_ror8(wv);
                a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
            }
        }
        o[c] = requant_out(a0, mult[c], shift[c], out_off, act_min, act_max, small);
        o[c + 1] = requant_out(a1, mult[c + 1], shift[c + 1], out_off, act_min, act_max, small);
        o[c + 2] = requant_out(a2, mult[c + 2], shift[c + 2], out_off, act_min, act_max, small);
        o[c + 3] = requant_out(a3, mult[c + 3], shift[c + 3], out_off, act_min, act_max, small);
    }
#endif
    for (; c < oc_n; ++c) {
        int32_t acc = bias_eff[c];
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int8_t *xp = base + ky * step_y + c;
            const int8_t *wp = filter + ky * wstep_y + c;
            for (int32_t kx = 0; kx < kw; ++kx) {
                acc += (int32_t)*xp * (int32_t)*wp;
                xp += step_x;
                wp += oc_n;
            }
        }
        o[c] = requant_out(acc, mult[c], shift[c], out_off, act_min, act_max, small);
    }
}

void aot_depthwise_conv2d(const aot_conv_params_t *p, const int8_t *in, int8_t *out, int8_t *scratch)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, ic = p->in_c;
    const int32_t out_h = p->out_h, out_w = p->out_w, oc_n = p->out_c, dm = p->depth_mult;
    const int32_t kh = p->k_h, kw = p->k_w;
    const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dil_h, dw = p->dil_w;
    const int32_t pad_t = p->pad_top, pad_l = p->pad_left;
    const int32_t in_off = p->in_offset, out_off = p->out_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max, small = p->small_acc;
    const int8_t *filter = p->filter;
    const int32_t *bias = p->bias, *mult = p->mult;
    const int8_t *shift = p->shift;

    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t y0 = oy * sh - pad_t;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t x0 = ox * sw - pad_l;
            int8_t *o = out + (oy * out_w + ox) * oc_n;
            const int inside = y0 >= 0 && y0 + (kh - 1) * dh < in_h && x0 >= 0 && x0 + (kw - 1) * dw < in_w;
            if (dm == 1) {
                if (inside) {
                    depthwise_pixel(p, in + (y0 * in_w + x0) * ic, dw * ic, dh * in_w * ic, o);
                } else {
                    gather_taps(p, in, y0, x0, scratch);
                    depthwise_pixel(p, scratch, ic, kw * ic, o);
                }
                continue;
            }
            for (int32_t c_in = 0; c_in < ic; ++c_in) {
                for (int32_t m = 0; m < dm; ++m) {
                    const int32_t c = c_in * dm + m;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int32_t iy = y0 + ky * dh;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t ix = x0 + kx * dw;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            const int32_t xv = in[(iy * in_w + ix) * ic + c_in];
                            const int32_t wv = filter[(ky * kw + kx) * oc_n + c];
                            acc += wv * (xv + in_off);
                        }
                    }
                    acc += bias[c];
                    o[c] = requant_out(acc, mult[c], shift[c], out_off, act_min, act_max, small);
                }
            }
        }
    }
}

void aot_fully_connected(const aot_fc_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t k = p->in_depth, n_out = p->out_depth, batches = p->batches;
    const int32_t out_off = p->out_offset, act_min = p->act_min, act_max = p->act_max;
    const int32_t per_channel = p->per_channel, single = p->single_rounding;
    const int8_t *filter = p->filter;
    const int32_t *bias_eff = p->bias_eff, *mult = p->mult;
    const int8_t *shift = p->shift;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + b * k;
        int8_t *o = out + b * n_out;
        for (int32_t j = 0; j < n_out; ++j) {
            const int32_t acc = dot_s8(x, filter + j * k, k, bias_eff[j]);
            const int32_t q = per_channel ? j : 0;
            if (single) {
                const int total = 31 - shift[q];
                const int64_t r = ((int64_t)acc * mult[q] + ((int64_t)1 << (total - 1))) >> total;
                o[j] = (int8_t)aot_clamp32((int32_t)r + out_off, act_min, act_max);
            } else {
                o[j] = requant_out(acc, mult[q], shift[q], out_off, act_min, act_max, 0);
            }
        }
    }
}
