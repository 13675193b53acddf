/* host_harness.c -- runs a generated aot model natively for the bit-exactness tests.
 *
 * Compiled into a shared library together with the kernels and one
 * generated model_aot.c; Python (tests/aot/native.py) calls aot_test_run()
 * through ctypes. hil_port_cycles() is a stand-in counter: the host has no
 * board port here.
 */
#include <stdint.h>
#include <string.h>

#include "hil_engine.h"
#include "hil_port.h"

static uint32_t s_fake_cycles;

uint32_t hil_port_cycles(void)
{
    return s_fake_cycles += 7u;
}

/* Runs n windows of in_bytes each; writes n outputs of out_bytes each.
 * Returns 0, or -1 when the engine fails. */
int aot_test_run(const uint8_t *inputs, uint32_t n, uint8_t *outputs)
{
    hil_tensor_info_t in_info, out_info;
    if (hil_engine_init() != HIL_ENGINE_OK) {
        return -1;
    }
    hil_engine_input_info(&in_info);
    hil_engine_output_info(&out_info);
    for (uint32_t i = 0; i < n; ++i) {
        memcpy(hil_engine_input(), inputs + (size_t)i * in_info.bytes, in_info.bytes);
        if (hil_engine_invoke() != HIL_ENGINE_OK) {
            return -1;
        }
        memcpy(outputs + (size_t)i * out_info.bytes, hil_engine_output(), out_info.bytes);
    }
    return 0;
}

/* Engine metadata for the tests. */
size_t aot_test_profile(hil_op_profile_t *out, size_t max)
{
    return hil_engine_profile(out, max);
}

void aot_test_info(hil_tensor_info_t *in, hil_tensor_info_t *out, uint32_t *arena, const uint8_t **sha,
                   const char **name)
{
    hil_engine_input_info(in);
    hil_engine_output_info(out);
    *arena = hil_engine_arena_bytes();
    *sha = hil_engine_model_sha256();
    *name = hil_engine_name();
}
