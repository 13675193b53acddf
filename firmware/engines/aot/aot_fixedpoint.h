/* aot_fixedpoint.h -- the integer arithmetic of TFLite's reference kernels.
 *
 * Every helper here reproduces, bit for bit, the rounding of TFLite's
 * quantized arithmetic (gemmlowp fixed point): a doubling high multiply that
 * rounds half away from zero, a power-of-two division that rounds half away
 * from zero, and the fixed-point exp / reciprocal used by SOFTMAX and
 * LOGISTIC. Written from the published arithmetic, not copied.
 */
#ifndef AOT_FIXEDPOINT_H
#define AOT_FIXEDPOINT_H

#include <stdint.h>

/* AOT_NO_DSP forces the portable C kernels (the baseline in bench/bench_aot.py). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(AOT_NO_DSP)
#include <arm_acle.h>
#define AOT_DSP 1
/* rotate right by 8 (for the portable uses) */
#define AOT_ROR8(x) (((uint32_t)(x) >> 8) | ((uint32_t)(x) << 24))
/* SXTB16 of x rotated right by 8 (bytes 1 and 3): one instruction; GCC does
 * not fold the rotation into SXTB16 by itself. */
static inline __attribute__((always_inline)) uint32_t aot_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* (lo half of a, lo half of b) and (hi half of a, hi half of b) as int16 pairs */
static inline __attribute__((always_inline)) uint32_t aot_pack_lo(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline __attribute__((always_inline)) uint32_t aot_pack_hi(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}
#else
#define AOT_DSP 0
#endif

#define AOT_INLINE static inline __attribute__((always_inline))

AOT_INLINE int32_t aot_min32(int32_t a, int32_t b) { return a < b ? a : b; }
AOT_INLINE int32_t aot_max32(int32_t a, int32_t b) { return a > b ? a : b; }
AOT_INLINE int32_t aot_clamp32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* round(a * b / 2^31), halves away from zero, saturating the one overflow case. */
AOT_INLINE int32_t aot_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    /* TFLite: (ab + (ab >= 0 ? 2^30 : 1 - 2^30)) / 2^31, truncating toward
     * zero. For ab < 0 that truncation equals an arithmetic shift of
     * (ab + 1 - 2^30) + (2^31 - 1) = ab + 2^30, the same expression as for
     * ab >= 0: one multiply-accumulate and a shift (SMLAL on Cortex-M4). */
    const int64_t ab = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
    return (int32_t)(ab >> 31);
}

/* round(x / 2^exponent), halves away from zero. */
AOT_INLINE int32_t aot_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding, the default build). */
AOT_INLINE int32_t aot_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return aot_rdbpot(aot_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* MultiplyByQuantizedMultiplier for requantisation, where the multiplier is
 * positive (the saturating case of srdhm cannot occur). The rounding shift
 * is aot_rdbpot rewritten as one add and one shift:
 *   x >= 0: floor((x + 2^(e-1)) / 2^e), the sum taken unsigned (no overflow)
 *   x <  0: floor((x + 2^(e-1) - 1) / 2^e), which cannot overflow
 * tests/aot/test_fixedpoint.c checks it against aot_rdbpot exhaustively
 * over shifts and on random and edge values. */
AOT_INLINE int32_t aot_requant(int32_t x, int32_t multiplier, int32_t shift)
{
    if (shift > 0) {
        x = (int32_t)((uint32_t)x << shift);
        shift = 0;
    }
    const int64_t ab = (int64_t)x * (int64_t)multiplier + ((int64_t)1 << 30);
    const int32_t hi = (int32_t)(ab >> 31);
    if (shift == 0) {
        return hi;
    }
    const int e = -shift;
    const uint32_t t = (uint32_t)hi + (1u << (e - 1)) - ((uint32_t)hi >> 31);
    return hi >= 0 ? (int32_t)(t >> e) : ((int32_t)t >> e);
}

/* aot_requant for |x * 2^max(shift, 0)| < 2^30, which the generator proves
 * per op from the weights, biases and zero points (flag small_acc):
 *  - srdhm(x, m) = (2x * m + 2^31) >> 32, i.e. SMMULR on 2x (no overflow);
 *  - |srdhm| < 2^30, so the rounding shift needs no unsigned case.
 * tests/aot/test_fixedpoint.c checks it against aot_mbqm on host and QEMU. */
AOT_INLINE int32_t aot_requant_small(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int32_t x2 = (int32_t)((uint32_t)x << (left + 1));
#if AOT_DSP
    int32_t hi;
    __asm__("smmulr %0, %1, %2" : "=r"(hi) : "r"(x2), "r"(multiplier));
#else
    const int32_t hi = (int32_t)(((int64_t)x2 * multiplier + ((int64_t)1 << 31)) >> 32);
#endif
    if (shift >= 0) {
        return hi;
    }
    const int e = -shift;
    return (hi + (int32_t)(1u << (e - 1)) + (hi >> 31)) >> e;
}

/* ---- gemmlowp-style fixed point (int32 raw values) ---- */

/* Saturating multiply by 2^exponent (exponent > 0). */
AOT_INLINE int32_t aot_sat_shl(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Changes the number of integer bits of a fixed-point value. */
AOT_INLINE int32_t aot_fp_rescale(int32_t raw, int src_int_bits, int dst_int_bits)
{
    const int exponent = src_int_bits - dst_int_bits;
    if (exponent > 0) {
        return aot_sat_shl(raw, exponent);
    }
    if (exponent < 0) {
        return aot_rdbpot(raw, -exponent);
    }
    return raw;
}

/* exp(a) for a in [-1/4, 0), a and the result with 0 integer bits. */
AOT_INLINE int32_t aot_fp_exp_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;   /* exp(-1/8) */
    const int32_t one_third = 715827883;               /* 1/3 */
    const int32_t x = a + (1 << 28);                   /* a + 1/8 */
    const int32_t x2 = aot_srdhm(x, x);
    const int32_t x3 = aot_srdhm(x2, x);
    const int32_t x4 = aot_srdhm(x2, x2);
    const int32_t x4_over_4 = aot_rdbpot(x4, 2);
    const int32_t poly = aot_rdbpot(aot_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + aot_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 with int_bits integer bits; result with 0 integer bits. */
AOT_INLINE int32_t aot_fp_exp_neg(int32_t a, int int_bits)
{
    static const int32_t k_mult[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
    };
    const int frac_bits = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_q_minus_q = (a & mask) - one_quarter;
    int32_t result = aot_fp_exp_quarter(aot_fp_rescale(a_mod_q_minus_q, int_bits, 0));
    const int32_t remainder = a_mod_q_minus_q - a;
    for (int e = -2; e <= 4; ++e) {
        if (int_bits > e) {
            const int shift = frac_bits + e;
            if (remainder & (int32_t)(1u << shift)) {
                result = aot_srdhm(result, k_mult[e + 2]);
            }
        }
    }
    if (int_bits > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - int_bits));
        if (a < clamp) {
            result = 0;
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1), both with 0 integer bits (Newton-Raphson). */
AOT_INLINE int32_t aot_fp_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810;      /* 48/17, 2 integer bits */
    const int32_t cm32_17 = -1010580540;    /* -32/17, 2 integer bits */
    int32_t x = c48_17 + aot_srdhm(half_denominator, cm32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = aot_srdhm(half_denominator, x);          /* 2 int bits */
        const int32_t one_minus = (1 << 29) - hdx;                   /* 2 int bits */
        x = x + aot_fp_rescale(aot_srdhm(x, one_minus), 4, 2);
    }
    /* x / 2 as 1 integer bit, then rescaled to 0 integer bits. */
    return aot_fp_rescale(x, 1, 0);
}

#endif /* AOT_FIXEDPOINT_H */
