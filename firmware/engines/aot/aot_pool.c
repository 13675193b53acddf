/* aot_pool.c -- MAX_POOL_2D, AVERAGE_POOL_2D and MEAN, int8.
 *
 * Pooling keeps the input's quantisation (TFLite requires it), so only the
 * window arithmetic matters: max, or a sum divided by the number of taps
 * inside the input with rounding half away from zero. MEAN follows the
 * fixed-point QuantizedMeanOrSum of current TFLite/TFLM reference kernels:
 * the 1/n factor is folded into the multiplier on the host.
 */
#include <string.h>

#include "aot_fixedpoint.h"
#include "aot_kernels.h"

/* The output may alias the input when the generator found it safe
 * (no top/left padding): every output element is written after the inputs
 * it reads, and never over an input a later output still needs. */
void aot_max_pool2d(const aot_pool_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t ch = p->ch, in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t f_h = p->f_h, f_w = p->f_w, sh = p->stride_h, sw = p->stride_w;
    const int32_t pad_t = p->pad_top, pad_l = p->pad_left, act_min = p->act_min, act_max = p->act_max;
#if AOT_DSP
    const int clamp = act_min > -128 || act_max < 127;
    const uint32_t lo4 = 0x01010101u * (uint8_t)act_min, hi4 = 0x01010101u * (uint8_t)act_max;
#endif
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t y0 = oy * sh - pad_t;
        const int32_t fy0 = aot_max32(0, -y0), fy1 = aot_min32(f_h, in_h - y0);
        for (int32_t ox = 0; ox < out_w; ++ox) {
            const int32_t x0 = ox * sw - pad_l;
            const int32_t fx0 = aot_max32(0, -x0), fx1 = aot_min32(f_w, in_w - x0);
            int8_t *o = out + (oy * out_w + ox) * ch;
            int32_t c = 0;
#if AOT_DSP
            /* four channels per step: SSUB8 sets a GE flag per byte, SEL keeps the larger */
            for (; c + 4 <= ch; c += 4) {
                uint32_t m = 0x80808080u;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const int8_t *row = in + ((y0 + fy) * in_w + x0) * ch + c;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        uint32_t v;
                        memcpy(&v, row + fx * ch, 4);
                        (void)__ssub8(v, m);
                        m = __sel(v, m);
                    }
                }
                if (clamp) {
                    (void)__ssub8(m, lo4);
                    m = __sel(m, lo4);
                    (void)__ssub8(hi4, m);
                    m = __sel(m, hi4);
                }
                memcpy(o + c, &m, 4);
            }
#endif
            for (; c < ch; ++c) {
                int32_t m = -128;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const int8_t *row = in + ((y0 + fy) * in_w + x0) * ch + c;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        const int32_t v = row[fx * ch];
                        m = v > m ? v : m;
                    }
                }
                o[c] = (int8_t)aot_clamp32(m, act_min, act_max);
            }
        }
    }
}

void aot_avg_pool2d(const aot_pool_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t ch = p->ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t fy0 = aot_max32(0, -y0), fy1 = aot_min32(p->f_h, p->in_h - y0);
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t fx0 = aot_max32(0, -x0), fx1 = aot_min32(p->f_w, p->in_w - x0);
            const int32_t count = (fy1 - fy0) * (fx1 - fx0);
            int8_t *o = out + (oy * p->out_w + ox) * ch;
            for (int32_t c = 0; c < ch; ++c) {
                int32_t acc = 0;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const int8_t *row = in + ((y0 + fy) * p->in_w + x0) * ch + c;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        acc += row[fx * ch];
                    }
                }
                if (count > 0) {
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                }
                o[c] = (int8_t)aot_clamp32(acc, p->act_min, p->act_max);
            }
        }
    }
}

void aot_mean(const aot_mean_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t inner = p->inner, reduce = p->reduce;
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *base = in + o * reduce * inner;
        for (int32_t i = 0; i < inner; ++i) {
            const int8_t *x = base + i;
            int32_t sum = 0;
            int32_t r = 0;
            for (; r + 4 <= reduce; r += 4) {
                sum += (int32_t)x[0] + (int32_t)x[inner] + (int32_t)x[2 * inner] + (int32_t)x[3 * inner];
                x += 4 * inner;
            }
            for (; r < reduce; ++r) {
                sum += *x;
                x += inner;
            }
            const int32_t v = aot_mbqm(sum - p->in_zp_times_n, p->mult, p->shift) + p->out_offset;
            out[o * inner + i] = (int8_t)aot_clamp32(v, -128, 127);
        }
    }
}
