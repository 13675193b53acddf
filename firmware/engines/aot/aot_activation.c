/* aot_activation.c -- LOGISTIC, HARD_SWISH and SOFTMAX, int8.
 *
 * All three use the fixed-point arithmetic of TFLite's reference kernels
 * (gemmlowp exp and reciprocal on int32, the 16-bit hard-swish), never
 * floating point, so they match BUILTIN_REF and TFLM bit for bit.
 */
#include "aot_fixedpoint.h"
#include "aot_kernels.h"

void aot_logistic(const aot_logistic_params_t *p, const int8_t *in, int8_t *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)in[i] - p->in_zp;
        if (x <= -p->range_radius) {
            out[i] = -128;
        } else if (x >= p->range_radius) {
            out[i] = 127;
        } else {
            /* x as fixed point with 4 integer bits */
            const int32_t a = aot_mbqm(x, p->mult, p->left_shift);
            int32_t r;
            if (a == 0) {
                r = 1 << 30;                                     /* 0.5 */
            } else {
                const int32_t abs_a = a > 0 ? a : -a;
                const int32_t pos = aot_fp_one_over_one_plus_x(aot_fp_exp_neg(-abs_a, 4));
                r = a > 0 ? pos : INT32_MAX - pos;
            }
            const int32_t q = aot_rdbpot(r, 31 - 8) - 128;
            out[i] = (int8_t)aot_clamp32(q, -128, 127);
        }
    }
}

AOT_INLINE int16_t sat16(int32_t v)
{
    return (int16_t)aot_clamp32(v, INT16_MIN, INT16_MAX);
}

/* gemmlowp's int16 rounding doubling high multiply */
AOT_INLINE int16_t srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* doubling high multiply, truncating */
AOT_INLINE int16_t sdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

AOT_INLINE int16_t rdbpot16(int16_t x, int exponent)
{
    const int16_t mask = (int16_t)((1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

void aot_hard_swish(const aot_hard_swish_params_t *p, const int8_t *in, int8_t *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int16_t x = (int16_t)((int32_t)in[i] - p->in_zp);
        const int16_t x_hires = (int16_t)(x * (1 << 7));
        const int16_t x_pre_out = srdhm16(x_hires, p->out_mult);
        int16_t reluish = x_hires;
        if (p->reluish_exp > 0) {
            reluish = sat16((int32_t)reluish * (1 << (p->reluish_exp - 1)));
        }
        reluish = srdhm16(reluish, p->reluish_mult);
        if (p->reluish_exp > 0) {
            reluish = sat16((int32_t)reluish * 2);
        }
        if (p->reluish_exp < 0) {
            reluish = rdbpot16(reluish, -p->reluish_exp);
        }
        /* [-1, 1] in Q15 to [0, 1] */
        reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
        const int16_t pre = sdhm16(reluish, x_pre_out);
        int32_t v = rdbpot16(pre, -p->out_exp);
        v += p->out_zp;
        out[i] = (int8_t)aot_clamp32(v, -128, 127);
    }
}

void aot_softmax(const aot_softmax_params_t *p, const int8_t *in, int8_t *out)
{
    const int acc_int_bits = 12;     /* integer bits of the sum of exps */
    const int diff_int_bits = 5;     /* integer bits of the scaled differences */
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *x = in + r * p->depth;
        int8_t *o = out + r * p->depth;
        int32_t max = -128;
        for (int32_t c = 0; c < p->depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        int32_t sum = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = aot_srdhm((int32_t)((uint32_t)diff << p->in_left_shift), p->in_mult);
                sum += aot_rdbpot(aot_fp_exp_neg(scaled, diff_int_bits), acc_int_bits);
            }
        }
        /* reciprocal of the sum: normalise into [1, 2), 1/(1+x) */
        const int headroom_plus_one = __builtin_clz((uint32_t)sum);
        const int bits_over_unit = acc_int_bits - headroom_plus_one;
        const int32_t shifted_minus_one = (int32_t)(((uint32_t)sum << headroom_plus_one) - (1u << 31));
        const int32_t scale = aot_fp_one_over_one_plus_x(shifted_minus_one);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = aot_srdhm((int32_t)((uint32_t)diff << p->in_left_shift), p->in_mult);
                const int32_t e = aot_fp_exp_neg(scaled, diff_int_bits);
                const int32_t v = aot_rdbpot(aot_srdhm(scale, e), bits_over_unit + 31 - 8) - 128;
                o[c] = (int8_t)aot_clamp32(v, -128, 127);
            } else {
                o[c] = -128;
            }
        }
    }
}
