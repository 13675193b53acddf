/* stdin_main.c -- runs a generated aot model natively as a filter: reads
 * whole input windows (raw bytes of the input tensor) from stdin until EOF and
 * writes each window's raw output bytes to stdout. Built with AddressSanitizer
 * and UndefinedBehaviorSanitizer by the tests to check the kernels' memory
 * accesses and arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hil_engine.h"
#include "hil_port.h"

uint32_t hil_port_cycles(void)
{
    static uint32_t t;
    return t += 3u;
}

int main(void)
{
    hil_tensor_info_t in_info, out_info;
    if (hil_engine_init() != HIL_ENGINE_OK) {
        return 2;
    }
    hil_engine_input_info(&in_info);
    hil_engine_output_info(&out_info);
    static uint8_t buf[1 << 16];
    if (in_info.bytes > sizeof buf) {
        return 3;
    }
    while (fread(buf, 1, in_info.bytes, stdin) == in_info.bytes) {
        memcpy(hil_engine_input(), buf, in_info.bytes);
        if (hil_engine_invoke() != HIL_ENGINE_OK) {
            return 4;
        }
        fwrite(hil_engine_output(), 1, out_info.bytes, stdout);
    }
    return 0;
}
