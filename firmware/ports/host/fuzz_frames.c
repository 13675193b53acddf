/* fuzz_frames.c -- libFuzzer target: arbitrary bytes into the frame
 * assembler, parser and dispatch, with the real engine behind them.
 * Built with -DHIL_FUZZ=ON (clang, ASan + UBSan); the port functions are
 * stubs that discard output. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hil_app.h"
#include "hil_port.h"
#include "hil_proto.h"

static uint32_t fake_cycles;
static size_t tx_bytes;

void hil_port_init(void) {}
const char *hil_port_board_name(void) { return "fuzz"; }
size_t hil_port_uart_read(uint8_t *buf, size_t max) { (void)buf; (void)max; return 0; }
void hil_port_uart_write(const uint8_t *buf, size_t len)
{
    /* Touch every byte so ASan checks the whole reply buffer. */
    for (size_t i = 0; i < len; ++i) {
        tx_bytes += buf[i] == 0 ? 1u : 0u;
    }
}
uint32_t hil_port_cycles(void) { return fake_cycles += 40u; }
uint32_t hil_port_timing_begin(void) { return hil_port_cycles(); }
uint32_t hil_port_timing_end(void) { return hil_port_cycles(); }
uint32_t hil_port_clock_hz(void) { return 25000000u; }
hil_reset_reason_t hil_port_reset_reason(void) { return HIL_RESET_POWER_ON; }
void hil_port_idle(void) {}
void hil_port_reset(void) {}

/* Input layout: byte 0 selects the mode.
 *   even: the rest goes to the frame assembler as raw wire bytes (COBS,
 *         delimiters, CRC checks: the parser's bad-input paths);
 *   odd:  byte 1 is a message type, bytes 2.. its payload; the harness wraps
 *         them in a valid frame (CRC + COBS) so the message handlers are
 *         reached too, which random bytes with a CRC almost never do. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint8_t raw[HIL_MAX_RAW];
    static uint8_t wire[HIL_MAX_ENCODED + 1];
    static const uint8_t delim = 0;
    if (!ready) {
        hil_app_init();
        ready = 1;
    }
    if (size < 2) {
        return 0;
    }
    if ((data[0] & 1u) == 0) {
        hil_app_feed(data + 1, size - 1);
    } else {
        static uint8_t payload[HIL_MAX_PAYLOAD];
        size_t len = size - 2 < sizeof payload ? size - 2 : sizeof payload;
        memcpy(payload, data + 2, len);
        /* A valid BENCH of up to 100000 invokes is correct but slow: keep it
         * to a few so the fuzzer's time goes into the parser and handlers. */
        if (data[1] == HIL_MSG_BENCH && len == 4) {
            payload[0] = (uint8_t)(payload[0] % 4u);
            payload[1] = payload[2] = payload[3] = 0;
        }
        size_t n = hil_frame_build(data[1], 0x1234u, payload, len, raw, sizeof raw);
        if (n > 0) {
            size_t w = hil_cobs_encode(raw, n, wire, sizeof wire - 1u);
            wire[w++] = 0;
            hil_app_feed(wire, w);
        }
    }
    /* End with a delimiter so every input is parsed as complete frames. */
    hil_app_feed(&delim, 1);
    return 0;
}
