/* fixedpoint_check.h -- the fast fixed-point forms of aot_fixedpoint.h against
 * the reference forms of TFLite's arithmetic (aot_mbqm = srdhm + rdbpot), on
 * edge and random values for every shift. Included by test_fixedpoint.c (host)
 * and by qemu/bench_main.c with -DBENCH_FIXEDPOINT (Cortex-M4, DSP forms). */
#ifndef FIXEDPOINT_CHECK_H
#define FIXEDPOINT_CHECK_H

#include <stdint.h>

#include "aot_fixedpoint.h"

static uint64_t s_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    s_state ^= s_state << 13;
    s_state ^= s_state >> 7;
    s_state ^= s_state << 17;
    return (uint32_t)(s_state >> 16);
}

/* Returns the number of mismatches; *checked counts the cases; the first
 * mismatch is stored in first[0..3] = {x, m, shift, small form?}. */
static long fixedpoint_check(int per_shift, long *checked, int32_t first[4])
{
    static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 255, -256, 1 << 20, -(1 << 20),
                                    INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 1 << 30, -(1 << 30),
                                    (1 << 30) - 1, -(1 << 30) + 1, 4 * ((1 << 29) - 1), -4 * ((1 << 29) - 1)};
    long bad = 0;
    *checked = 0;
    for (int shift = -31; shift <= 30; ++shift) {
        for (int k = 0; k < per_shift; ++k) {
            int32_t x = k < (int)(sizeof edges / sizeof edges[0]) ? edges[k] : (int32_t)rnd();
            if (k % 3 == 1) {
                x >>= rnd() % 31;              /* also small magnitudes */
            }
            int32_t m = (int32_t)((rnd() >> 1) | 0x40000000u);   /* a Q31 in [0.5, 1) */
            if (k % 7 == 0) {
                m = INT32_MAX;
            }
            if (shift > 0) {
                x >>= shift;                   /* TFLite's left shift must not overflow either */
            }
            ++*checked;
            if (aot_requant(x, m, shift) != aot_mbqm(x, m, shift) && bad++ == 0) {
                first[0] = x, first[1] = m, first[2] = shift, first[3] = 0;
            }
            /* the small-accumulator form, on its domain |x * 2^max(shift,0)| < 2^30 */
            const int left = shift > 0 ? shift : 0;
            const int32_t xs = (int32_t)(x / 4) >> left;
            ++*checked;
            if (aot_requant_small(xs, m, shift) != aot_mbqm(xs, m, shift) && bad++ == 0) {
                first[0] = xs, first[1] = m, first[2] = shift, first[3] = 1;
            }
        }
    }
    return bad;
}

#endif /* FIXEDPOINT_CHECK_H */
