/* aot_elementwise.c -- MUL and ADD (int8, with broadcasting), QUANTIZE, DEQUANTIZE.
 *
 * MUL:  clamp(out_offset + MBQM((a + in1_offset) * (b + in2_offset), out_mult, out_shift))
 * ADD:  both inputs shifted left by left_shift, each rescaled to a common
 *       scale with its own multiplier, summed, rescaled to the output
 *       (TFLite's reference integer ADD).
 */
#include <math.h>

#include "aot_fixedpoint.h"
#include "aot_kernels.h"

/* The parameters, copied to locals once per call (see aot_conv.c). */
typedef struct {
    int32_t in1_offset, in2_offset, out_offset, act_min, act_max, out_mult, out_shift;
    int32_t left_shift, in1_mult, in1_shift, in2_mult, in2_shift, small;
} binary_q_t;

AOT_INLINE int8_t mul_one(const binary_q_t *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset);
    const int32_t r = p->small ? aot_requant_small(prod, p->out_mult, p->out_shift)
                               : aot_requant(prod, p->out_mult, p->out_shift);
    return (int8_t)aot_clamp32(r + p->out_offset, p->act_min, p->act_max);
}

AOT_INLINE int32_t mbqm_smaller_than_one(int32_t x, int32_t mult, int32_t shift)
{
    return aot_rdbpot(aot_srdhm(x, mult), -shift);
}

AOT_INLINE int8_t add_one(const binary_q_t *p, int32_t a, int32_t b)
{
    const int32_t sa = (int32_t)((uint32_t)(a + p->in1_offset) << p->left_shift);
    const int32_t sb = (int32_t)((uint32_t)(b + p->in2_offset) << p->left_shift);
    const int32_t ra = mbqm_smaller_than_one(sa, p->in1_mult, p->in1_shift);
    const int32_t rb = mbqm_smaller_than_one(sb, p->in2_mult, p->in2_shift);
    const int32_t v = mbqm_smaller_than_one(ra + rb, p->out_mult, p->out_shift) + p->out_offset;
    return (int8_t)aot_clamp32(v, p->act_min, p->act_max);
}

/* One loop nest for both ops; is_add is a constant at each call site so the
 * compiler keeps two specialised copies. */
AOT_INLINE void binary(const aot_binary_params_t *prm, const int8_t *in1, const int8_t *in2,
                       int8_t *out, int is_add)
{
    const binary_q_t q = {prm->in1_offset, prm->in2_offset, prm->out_offset, prm->act_min, prm->act_max,
                          prm->out_mult, prm->out_shift, prm->left_shift, prm->in1_mult, prm->in1_shift,
                          prm->in2_mult, prm->in2_shift, prm->small_acc};
    const binary_q_t *p = &q;
    const int32_t d[4] = {prm->out_dims[0], prm->out_dims[1], prm->out_dims[2], prm->out_dims[3]};
    const int32_t form = prm->form;
    if (form == 1) {                       /* same shapes */
        const int32_t n = d[0] * d[1] * d[2] * d[3];
        for (int32_t i = 0; i < n; ++i) {
            out[i] = is_add ? add_one(p, in1[i], in2[i]) : mul_one(p, in1[i], in2[i]);
        }
        return;
    }
    if (form == 2) {                       /* in2 is a vector along the innermost dim */
        const int32_t rows = d[0] * d[1] * d[2], inner = d[3];
        for (int32_t r = 0; r < rows; ++r) {
            const int8_t *a = in1 + r * inner;
            int8_t *o = out + r * inner;
            for (int32_t i = 0; i < inner; ++i) {
                o[i] = is_add ? add_one(p, a[i], in2[i]) : mul_one(p, a[i], in2[i]);
            }
        }
        return;
    }
    if (form == 3) {                       /* in2 is one value */
        const int32_t n = d[0] * d[1] * d[2] * d[3];
        const int32_t b = in2[0];
        for (int32_t i = 0; i < n; ++i) {
            out[i] = is_add ? add_one(p, in1[i], b) : mul_one(p, in1[i], b);
        }
        return;
    }
    const int32_t *s1 = prm->in1_strides, *s2 = prm->in2_strides;
    int32_t k = 0;
    for (int32_t i0 = 0; i0 < d[0]; ++i0) {
        for (int32_t i1 = 0; i1 < d[1]; ++i1) {
            for (int32_t i2 = 0; i2 < d[2]; ++i2) {
                const int8_t *a = in1 + i0 * s1[0] + i1 * s1[1] + i2 * s1[2];
                const int8_t *b = in2 + i0 * s2[0] + i1 * s2[1] + i2 * s2[2];
                for (int32_t i3 = 0; i3 < d[3]; ++i3) {
                    const int32_t va = a[i3 * s1[3]], vb = b[i3 * s2[3]];
                    out[k++] = is_add ? add_one(p, va, vb) : mul_one(p, va, vb);
                }
            }
        }
    }
}

void aot_mul(const aot_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    binary(p, in1, in2, out, 0);
}

void aot_add(const aot_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    binary(p, in1, in2, out, 1);
}

void aot_quantize_f32(const aot_quantize_params_t *p, const float *in, int8_t *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        /* TFLite: round(value / scale) in single precision, half away from zero. */
        const int32_t v = (int32_t)roundf(in[i] / p->scale) + p->out_zp;
        out[i] = (int8_t)aot_clamp32(v, -128, 127);
    }
}

void aot_requantize(const aot_quantize_params_t *p, const int8_t *in, int8_t *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = aot_mbqm((int32_t)in[i] - p->in_zp, p->mult, p->shift) + p->out_zp;
        out[i] = (int8_t)aot_clamp32(v, -128, 127);
    }
}

void aot_dequantize(const aot_dequantize_params_t *p, const int8_t *in, float *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (float)(p->scale * (double)((int32_t)in[i] - p->zp));
    }
}
