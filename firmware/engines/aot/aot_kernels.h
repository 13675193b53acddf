/* aot_kernels.h -- int8 kernels of the aot engine.
 *
 * Each kernel takes a parameter block that the generator (hil/firmware/aot)
 * fills in on the host: shapes, zero-point offsets, activation bounds and
 * requantisation multipliers/shifts computed exactly as TFLite's Prepare()
 * computes them. The arithmetic is TFLite's reference integer arithmetic, so
 * outputs are bit-exact with the BUILTIN_REF interpreter and with TFLM.
 *
 * Tensors are NHWC, batch 1 (the generator refuses other batch sizes).
 */
#ifndef AOT_KERNELS_H
#define AOT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CONV_2D and DEPTHWISE_CONV_2D. */
typedef struct {
    int16_t in_h, in_w, in_c;
    int16_t out_h, out_w, out_c;
    int16_t k_h, k_w;
    int16_t stride_h, stride_w;
    int16_t dil_h, dil_w;
    int16_t pad_top, pad_left;
    int16_t depth_mult;                 /* DEPTHWISE_CONV_2D only */
    int16_t small_acc;                  /* 1: |acc * 2^max(shift,0)| < 2^30 proven on the host */
    int32_t in_offset;                  /* -input zero point */
    int32_t out_offset;                 /* output zero point */
    int32_t act_min, act_max;
    int16_t row;                        /* CONV_2D: filter row length kh*kw*ic rounded up to 4 */
    /* conv: rows of kh*kw*ic zero padded to `row`, output channels in pairs
     * whose rows are interleaved every 4 bytes (an odd last row as is);
     * depthwise: [kh][kw][oc] */
    const int8_t *filter;
    /* DEPTHWISE_CONV_2D with multiplier 1: the filter of each group of 4
     * channels again as int16 pairs of neighbouring taps,
     * [oc/4][kh][kw/2][4 channels][2] = (w[ky][2j][c], w[ky][2j+1][c]),
     * so one SMLAD takes two taps of a channel. NULL otherwise. */
    const int16_t *filter_pairs;
    const int32_t *bias;                /* [oc] raw bias: depthwise with multiplier > 1 only, else NULL */
    const int32_t *bias_eff;            /* [oc] bias + in_offset * sum(filter of oc) */
    const int32_t *mult;                /* [oc] requantisation multiplier */
    const int8_t *shift;                /* [oc] requantisation shift (TFLite sign convention) */
} aot_conv_params_t;

/* scratch: 6 * row bytes (4-aligned) for the im2col patches of two output pixels */
void aot_conv2d(const aot_conv_params_t *p, const int8_t *in, int8_t *out, int8_t *scratch);
/* scratch: k_h * k_w * in_c bytes (multiplier 1; unused otherwise) for border pixels */
void aot_depthwise_conv2d(const aot_conv_params_t *p, const int8_t *in, int8_t *out, int8_t *scratch);

/* FULLY_CONNECTED: out[b][o] over in[b][k], weights [o][k]. */
typedef struct {
    int16_t batches, in_depth, out_depth;
    int32_t in_offset, out_offset;
    int32_t act_min, act_max;
    const int8_t *filter;
    const int32_t *bias_eff;            /* bias + in_offset * sum(filter row) */
    const int32_t *mult;                /* [out_depth] (per channel) or [1] */
    const int8_t *shift;
    int16_t per_channel;
    /* 1: round once, (acc * mult + 2^(30 - shift)) >> (31 - shift) in 64 bits, as
     * TFLite's BUILTIN_REF FULLY_CONNECTED does; 0: the two-step rounding of
     * MultiplyByQuantizedMultiplier, as TFLM does (see docs/aot.md). */
    int16_t single_rounding;
} aot_fc_params_t;

void aot_fully_connected(const aot_fc_params_t *p, const int8_t *in, int8_t *out);

/* MAX_POOL_2D and AVERAGE_POOL_2D (same quantisation in and out). */
typedef struct {
    int16_t in_h, in_w, ch;
    int16_t out_h, out_w;
    int16_t f_h, f_w;
    int16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    int32_t act_min, act_max;
} aot_pool_params_t;

void aot_max_pool2d(const aot_pool_params_t *p, const int8_t *in, int8_t *out);
void aot_avg_pool2d(const aot_pool_params_t *p, const int8_t *in, int8_t *out);

/* MEAN over a contiguous group of axes: in viewed as [outer][reduce][inner]. */
typedef struct {
    int32_t outer, reduce, inner;
    int32_t in_zp_times_n;              /* input zero point * reduce */
    int32_t out_offset;
    int32_t mult;                       /* input/output scale folded with 1/reduce */
    int32_t shift;
} aot_mean_params_t;

void aot_mean(const aot_mean_params_t *p, const int8_t *in, int8_t *out);

/* MUL and ADD with broadcasting over up to 4 dimensions. Strides are in
 * elements, 0 along broadcast dimensions; the output is dense. */
typedef struct {
    int32_t out_dims[4];
    int32_t in1_strides[4];
    int32_t in2_strides[4];
    int32_t in1_offset, in2_offset, out_offset;
    int32_t act_min, act_max;
    int32_t out_mult, out_shift;
    /* ADD only */
    int32_t left_shift;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift;
    /* Fast forms chosen by the generator: 0 general, 1 same shapes,
     * 2 in2 is a vector over the innermost dimension, 3 in2 is a scalar. */
    int32_t form;
    int32_t small_acc;                  /* MUL: |product * 2^max(shift,0)| < 2^30 */
} aot_binary_params_t;

void aot_mul(const aot_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void aot_add(const aot_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out);

/* LOGISTIC (reference_integer_ops arithmetic, output scale 1/256, zp -128). */
typedef struct {
    int32_t size;
    int32_t in_zp;
    int32_t range_radius;
    int32_t mult;
    int32_t left_shift;
} aot_logistic_params_t;

void aot_logistic(const aot_logistic_params_t *p, const int8_t *in, int8_t *out);

/* HARD_SWISH (16-bit fixed-point reference arithmetic). */
typedef struct {
    int32_t size;
    int32_t in_zp, out_zp;
    int16_t reluish_mult;
    int16_t out_mult;
    int32_t reluish_exp;
    int32_t out_exp;
} aot_hard_swish_params_t;

void aot_hard_swish(const aot_hard_swish_params_t *p, const int8_t *in, int8_t *out);

/* SOFTMAX over the innermost dimension (output scale 1/256, zp -128). */
typedef struct {
    int32_t rows, depth;
    int32_t in_mult, in_left_shift;
    int32_t diff_min;
} aot_softmax_params_t;

void aot_softmax(const aot_softmax_params_t *p, const int8_t *in, int8_t *out);

/* QUANTIZE: float -> int8, or int8 -> int8 requantisation. */
typedef struct {
    int32_t size;
    float scale;                        /* float input: output scale */
    int32_t in_zp, out_zp;
    int32_t mult, shift;                /* int8 input */
} aot_quantize_params_t;

void aot_quantize_f32(const aot_quantize_params_t *p, const float *in, int8_t *out);
void aot_requantize(const aot_quantize_params_t *p, const int8_t *in, int8_t *out);

/* DEQUANTIZE: int8 -> float. */
typedef struct {
    int32_t size;
    int32_t zp;
    double scale;
} aot_dequantize_params_t;

void aot_dequantize(const aot_dequantize_params_t *p, const int8_t *in, float *out);

#ifdef __cplusplus
}
#endif

#endif /* AOT_KERNELS_H */
