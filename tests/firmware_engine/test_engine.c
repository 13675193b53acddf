/* TEST DOUBLE for hil_engine.h -- not an inference engine.
 *
 * Input int8 [1, 800]; output int8 [1, 4] with
 *   out[k] = clamp((sum over i with i % 4 == k of x[i] * (k + 1)) >> 4, -128, 127)
 * (arithmetic shift, i.e. floor division by 16). tests/fixtures/firmware.py
 * computes the same in numpy. After an invoke the engine scribbles over its
 * input, as an engine whose input lives in a reused arena would, so the app
 * must not rely on the input surviving an invoke.
 */
#include <string.h>

#include "hil_engine.h"
#include "hil_port.h"

#define IN_BYTES 800
#define OUT_BYTES 4

static int8_t arena[IN_BYTES + OUT_BYTES];
static uint32_t op_ticks[2];

/* 0x00, 0x01, ... 0x1f: recognisable in INFO. */
static const uint8_t fake_sha[32] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

hil_engine_status_t hil_engine_init(void)
{
    memset(arena, 0, sizeof arena);
    return HIL_ENGINE_OK;
}

const char *hil_engine_name(void) { return "test"; }
const uint8_t *hil_engine_model_sha256(void) { return fake_sha; }
uint32_t hil_engine_arena_bytes(void) { return (uint32_t)sizeof arena; }

void hil_engine_input_info(hil_tensor_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->dtype = HIL_DTYPE_INT8;
    info->ndims = 2;
    info->dims[0] = 1;
    info->dims[1] = IN_BYTES;
    info->bytes = IN_BYTES;
    info->scale = 0.05f;
    info->zero_point = -3;
}

void hil_engine_output_info(hil_tensor_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->dtype = HIL_DTYPE_INT8;
    info->ndims = 2;
    info->dims[0] = 1;
    info->dims[1] = OUT_BYTES;
    info->bytes = OUT_BYTES;
    info->scale = 0.00390625f;
    info->zero_point = -128;
}

int8_t *hil_engine_input(void) { return arena; }
const int8_t *hil_engine_output(void) { return arena + IN_BYTES; }

hil_engine_status_t hil_engine_invoke(void)
{
    int32_t acc[OUT_BYTES] = {0, 0, 0, 0};
    uint32_t t0 = hil_port_cycles();
    for (int i = 0; i < IN_BYTES; ++i) {
        acc[i % OUT_BYTES] += (int32_t)arena[i] * (int32_t)(i % OUT_BYTES + 1);
    }
    uint32_t t1 = hil_port_cycles();
    for (int k = 0; k < OUT_BYTES; ++k) {
        int32_t v = acc[k] >= 0 ? acc[k] / 16 : -((-acc[k] + 15) / 16); /* floor */
        v = v < -128 ? -128 : (v > 127 ? 127 : v);
        arena[IN_BYTES + k] = (int8_t)v;
    }
    memset(arena, 0x5A, IN_BYTES); /* the input does not survive */
    uint32_t t2 = hil_port_cycles();
    op_ticks[0] = t1 - t0;
    op_ticks[1] = t2 - t1;
    return HIL_ENGINE_OK;
}

size_t hil_engine_profile(hil_op_profile_t *out, size_t max)
{
    static const uint16_t codes[2] = {9, 22}; /* FULLY_CONNECTED, RESHAPE */
    for (size_t i = 0; i < 2 && i < max; ++i) {
        out[i].op_index = (uint16_t)i;
        out[i].op_code = codes[i];
        out[i].cycles = op_ticks[i];
    }
    return 2;
}
