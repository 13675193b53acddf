/* hil_app.h -- the protocol app: board- and engine-independent.
 *
 * main() (app/main.c) calls hil_app_init() once and hil_app_poll() forever.
 * Ports call hil_app_fault() from their fault handler; the fuzz target and
 * tests feed bytes with hil_app_feed().
 */
#ifndef HIL_APP_H
#define HIL_APP_H

#include <stddef.h>
#include <stdint.h>

#ifndef HIL_FIRMWARE_VERSION
#define HIL_FIRMWARE_VERSION "0.1.0"
#endif

#ifndef HIL_RX_RING_BYTES
#define HIL_RX_RING_BYTES 8192u
#endif

/* Initialises the engine and writes the boot banner. */
void hil_app_init(void);

/* Takes the received bytes from the port and serves every complete frame.
 * Returns the number of bytes taken (0: nothing to do, the caller may idle). */
size_t hil_app_poll(void);

/* Feeds received bytes straight into the frame assembler. */
void hil_app_feed(const uint8_t *data, size_t len);

/* Sends ERROR FAULT with text; for fault handlers (no engine, no heap). */
void hil_app_fault(const char *text);

/* Formats v as 0x%08x into out (11 bytes with the terminator). */
void hil_app_hex32(char *out, uint32_t v);

#endif /* HIL_APP_H */
